"""The near-duplicate index: one perceptual hash per image, split for multi-index hashing.

docs/near-duplicates.md explains the lookup (curation.fingerprints) and why it finds exactly what
an exhaustive scan finds within the radius.
"""

from django.db import models
from django.db.models import F, Q

# The 64-bit pHash is split into three chunks of 21, 21 and 22 bits, chunk 0 the most significant
# (it holds the DC bit, which pHash nearly always sets): wide enough that a chunk value names few
# rows even among millions (a probe reads about rows / 2**21 of them), narrow enough that the values
# within 2 bits of a chunk stay a few hundred (docs/near-duplicates.md).
CHUNK_WIDTHS = (21, 21, 22)
CHUNKS = len(CHUNK_WIDTHS)
CHUNK_FIELDS = tuple(f"chunk{i}" for i in range(CHUNKS))
# How far each chunk is shifted right to reach it: 43, 22, 0.
CHUNK_SHIFTS = tuple(sum(CHUNK_WIDTHS[i + 1 :]) for i in range(CHUNKS))


def _chunk_matches_hash(i: int) -> Q:
    # Arithmetic shifts of a signed 64-bit value, then a mask: the same bits on SQLite and
    # PostgreSQL, whatever the sign.
    mask = (1 << CHUNK_WIDTHS[i]) - 1
    return Q(**{CHUNK_FIELDS[i]: F("phash").bitrightshift(CHUNK_SHIFTS[i]).bitand(mask)})


class ImageFingerprint(models.Model):
    """An image's 64-bit perceptual hash (imagehash.phash of its stored file, decoded upright),
    stored as a signed 64-bit integer, and its three chunks, each in an index with the hash
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
