"""Ingestion of the formats clinics produce: single images, DICOM, case packages and the IARC
image-bank layout. Each reader turns a source into `CaseItem`s; `writer.write_case` stores each case
in one transaction and records every problem in an `IngestReport`."""
