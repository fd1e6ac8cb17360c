from django.db import models

from imagebank.vocabularies import Vocabulary


def choice_constraint(field: str, vocabulary: Vocabulary, *, allow_blank: bool = True):
    """A CHECK constraint keeping a coded field inside its vocabulary, whoever writes the row."""
    condition = models.Q(**{f"{field}__in": sorted(vocabulary.codes)})
    if allow_blank:
        condition |= models.Q(**{field: ""})
    return models.CheckConstraint(condition=condition, name=f"%(class)s_{field}_in_vocabulary")
