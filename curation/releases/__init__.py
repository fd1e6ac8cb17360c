"""Dataset releases' pure logic (no models, no database): near-duplicate clusters and split
assignment (clusters, splits), and the files a release is made of (manifest, croissant,
datasheet). The models are curation.models.releases, the use cases curation.services.releases.
"""
