"""The near-duplicate index: one perceptual hash per image, split for multi-index hashing.

docs/near-duplicates.md explains the lookup (curation.fingerprints) and why it finds exactly what
an exhaustive scan finds within the radius.
"""

from django.db import models
from django.db.models import F, Q

# The 64-bit pHash is split into CHUNKS chunks of CHUNK_BITS bits, chunk 0 the most significant.
CHUNKS = 4
CHUNK_BITS = 16
CHUNK_MASK = (1 << CHUNK_BITS) - 1
CHUNK_FIELDS = tuple(f"chunk{i}" for i in range(CHUNKS))


def _chunk_matches_hash(i: int) -> Q:
    # Arithmetic shifts of a signed 64-bit value, then a mask: the same bits on SQLite and
    # PostgreSQL, whatever the sign.
    shift = CHUNK_BITS * (CHUNKS - 1 - i)
    return Q(**{CHUNK_FIELDS[i]: F("phash").bitrightshift(shift).bitand(CHUNK_MASK)})


class ImageFingerprint(models.Model):
    """An image's 64-bit perceptual hash (imagehash.phash of its stored file, decoded upright),
    stored as a signed 64-bit integer, and its four 16-bit chunks, each in an index with the hash
    (so a lookup reads candidates from the index alone). `algorithm` names how the hash was made:
    a change of procedure bumps it and the index is rebuilt (index_fingerprints)."""

    image = models.OneToOneField(
        "imagebank.Image",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="fingerprint",
    )
    algorithm = models.CharField(max_length=20)
    phash = models.BigIntegerField()
    chunk0 = models.IntegerField()
    chunk1 = models.IntegerField()
    chunk2 = models.IntegerField()
    chunk3 = models.IntegerField()
    indexed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=[name, "phash"], name=f"fingerprint_{name}")
            for name in CHUNK_FIELDS
        ]
        constraints = [
            models.CheckConstraint(
                condition=_chunk_matches_hash(i), name=f"fingerprint_{name}_of_phash"
            )
            for i, name in enumerate(CHUNK_FIELDS)
        ]

    def __str__(self) -> str:
        return f"{self.image_id}: {self.phash & (2**64 - 1):016x}"
