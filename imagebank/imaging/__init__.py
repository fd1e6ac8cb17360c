"""Image formats below everything that stores images: checking and decoding (processing),
removing identifying metadata (deidentify, dicom_deid), the storage guard (metadata_guard), and
turning a received file into a PreparedImage (prepared, dicom). Nothing here writes to the database.
"""
