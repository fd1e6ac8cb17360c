"""De-identification of a DICOM object: the Basic Application Level Confidentiality Profile.

The action table below follows DICOM PS3.15 (Security and System Management Profiles), Annex E
"Attribute Confidentiality Profiles", Table E.1-1, column "Basic Prof.", for the attributes that can
occur in VL Photographic, VL Endoscopic and Secondary Capture objects (and in the sequences they
may carry). The standard's codes are:

    X remove · Z replace with a zero-length value · D replace with a dummy value of the same VR ·
    U replace the UID by a new one, consistently within the set of instances · K keep

Where the standard gives a choice that depends on the attribute's type in the IOD (X/Z, Z/D,
X/Z/D, X/Z/U*), the table says which one is used here: removing (X) is always the most private
choice, Z is kept for the type 2 attributes of the Patient and General Study modules so that the
stored object still satisfies its IOD, and D for the type 1 content date and time of the VL Image
module. Attributes the profile does not name are kept: they are the technical description of the
image (rows, columns, photometric interpretation, bits, planar configuration, pixel data...).
"""

import hashlib
import hmac

from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag

X, Z, D, U = "X", "Z", "D", "U"

# PS3.15 Annex E, Table E.1-1, basic profile, by attribute keyword (see the module docstring).
BASIC_PROFILE: dict[str, str] = {
    # Patient
    "PatientName": Z,
    "PatientID": Z,
    "PatientBirthDate": Z,
    "PatientSex": Z,
    "PatientBirthTime": X,
    "PatientBirthName": X,
    "PatientMotherBirthName": X,
    "PatientAge": X,
    "PatientSize": X,
    "PatientWeight": X,
    "PatientAddress": X,
    "PatientTelephoneNumbers": X,
    "PatientTelecomInformation": X,
    "PatientComments": X,
    "PatientReligiousPreference": X,
    "PatientSexNeutered": X,
    "PatientState": X,
    "PatientTransportArrangements": X,
    "PatientInstitutionResidence": X,
    "PatientInsurancePlanCodeSequence": X,
    "PatientPrimaryLanguageCodeSequence": X,
    "PatientPrimaryLanguageModifierCodeSequence": X,
    "IssuerOfPatientID": X,
    "OtherPatientIDs": X,
    "OtherPatientIDsSequence": X,
    "OtherPatientNames": X,
    "ReferencedPatientSequence": X,
    "ReferencedPatientAliasSequence": X,
    "ReferencedPatientPhotoSequence": X,
    "EthnicGroup": X,
    "Occupation": X,
    "MilitaryRank": X,
    "BranchOfService": X,
    "CountryOfResidence": X,
    "RegionOfResidence": X,
    "MedicalRecordLocator": X,
    "MedicalAlerts": X,
    "Allergies": X,
    "SmokingStatus": X,
    "PregnancyStatus": X,
    "LastMenstrualDate": X,
    "AdditionalPatientHistory": X,
    "SpecialNeeds": X,
    "InsurancePlanIdentification": X,
    "ConfidentialityConstraintOnPatientDataDescription": X,
    "ResponsiblePerson": X,
    "ResponsibleOrganization": X,
    # Visit and admission
    "AdmissionID": X,
    "IssuerOfAdmissionID": X,
    "AdmittingDate": X,
    "AdmittingTime": X,
    "AdmittingDiagnosesDescription": X,
    "AdmittingDiagnosesCodeSequence": X,
    "DischargeDiagnosisDescription": X,
    "CurrentPatientLocation": X,
    "ServiceEpisodeID": X,
    "ServiceEpisodeDescription": X,
    "IssuerOfServiceEpisodeID": X,
    "VisitComments": X,
    # Study, series, request
    "StudyInstanceUID": U,
    "StudyDate": Z,
    "StudyTime": Z,
    "StudyID": Z,
    "AccessionNumber": Z,
    "ReferringPhysicianName": Z,
    "ReferringPhysicianAddress": X,
    "ReferringPhysicianTelephoneNumbers": X,
    "ReferringPhysicianIdentificationSequence": X,
    "ConsultingPhysicianName": X,
    "ConsultingPhysicianIdentificationSequence": X,
    "PhysiciansOfRecord": X,
    "PhysiciansOfRecordIdentificationSequence": X,
    "NameOfPhysiciansReadingStudy": X,
    "PhysiciansReadingStudyIdentificationSequence": X,
    "RequestingPhysician": X,
    "RequestingService": X,
    "RequestingServiceCodeSequence": X,
    "StudyDescription": X,
    "StudyComments": X,
    "StudyIDIssuer": X,
    "ReasonForStudy": X,
    "ReasonForTheRequestedProcedure": X,
    "ReasonForTheImagingServiceRequest": X,
    "RequestedProcedureDescription": X,
    "RequestedProcedureID": X,
    "RequestedProcedureComments": X,
    "RequestedProcedureLocation": X,
    "RequestedContrastAgent": X,
    "RequestAttributesSequence": X,
    # Coded descriptions of the procedure repeat the study description in their Code Meaning.
    "ProcedureCodeSequence": X,
    "RequestedProcedureCodeSequence": X,
    "ReasonForRequestedProcedureCodeSequence": X,
    "PerformedProtocolCodeSequence": X,
    "ScheduledProtocolCodeSequence": X,
    "ImagingServiceRequestComments": X,
    "PlacerOrderNumberImagingServiceRequest": Z,
    "FillerOrderNumberImagingServiceRequest": Z,
    "OrderEnteredBy": X,
    "OrderEntererLocation": X,
    "OrderCallbackPhoneNumber": X,
    "OrderCallbackTelecomInformation": X,
    "ReferencedStudySequence": X,
    "SeriesInstanceUID": U,
    "SeriesDate": X,
    "SeriesTime": X,
    "SeriesDescription": X,
    "ProtocolName": X,
    "OperatorsName": X,
    "OperatorIdentificationSequence": X,
    "PerformingPhysicianName": X,
    "PerformingPhysicianIdentificationSequence": X,
    "ReferencedPerformedProcedureStepSequence": X,
    "PerformedProcedureStepID": X,
    "PerformedProcedureStepDescription": X,
    "PerformedProcedureStepStartDate": X,
    "PerformedProcedureStepStartTime": X,
    "PerformedProcedureStepEndDate": X,
    "PerformedProcedureStepEndTime": X,
    "CommentsOnThePerformedProcedureStep": X,
    "PerformedLocation": X,
    "PerformedStationAETitle": X,
    "PerformedStationName": X,
    "PerformedStationNameCodeSequence": X,
    "PerformedStationGeographicLocationCodeSequence": X,
    "ScheduledProcedureStepDescription": X,
    "ScheduledProcedureStepLocation": X,
    "ScheduledProcedureStepStartDate": X,
    "ScheduledProcedureStepStartTime": X,
    "ScheduledProcedureStepEndDate": X,
    "ScheduledProcedureStepEndTime": X,
    "ScheduledPerformingPhysicianName": X,
    "ScheduledPerformingPhysicianIdentificationSequence": X,
    "ScheduledHumanPerformersSequence": X,
    "ScheduledPatientInstitutionResidence": X,
    "ScheduledStationAETitle": X,
    "ScheduledStationName": X,
    "ScheduledStationNameCodeSequence": X,
    "ScheduledStationGeographicLocationCodeSequence": X,
    "ScheduledStudyLocation": X,
    "ScheduledStudyLocationAETitle": X,
    "ActualHumanPerformersSequence": X,
    "HumanPerformerName": X,
    "HumanPerformerOrganization": X,
    # Institution, equipment and people (no "Retain Device Identity" option)
    "InstitutionName": X,
    "InstitutionAddress": X,
    "InstitutionCodeSequence": X,
    "InstitutionalDepartmentName": X,
    "StationName": X,
    "DeviceSerialNumber": X,
    "DeviceUID": U,
    "DeviceDescription": X,
    "DetectorID": X,
    "GantryID": X,
    "GeneratorID": X,
    "CassetteID": X,
    "PlateID": X,
    "ModifyingDeviceID": X,
    "ModifyingDeviceManufacturer": X,
    "SecondaryCaptureDeviceID": X,
    "DateOfSecondaryCapture": X,
    "TimeOfSecondaryCapture": X,
    "PersonAddress": X,
    "PersonTelephoneNumbers": X,
    "PersonTelecomInformation": X,
    "PersonName": X,
    "PersonIdentificationCodeSequence": X,
    "ContentCreatorName": Z,
    "ContentCreatorIdentificationCodeSequence": X,
    "ReviewerName": X,
    "VerifyingObserverName": D,
    "VerifyingObserverSequence": X,
    "VerifyingObserverIdentificationCodeSequence": Z,
    "VerifyingOrganization": X,
    "AuthorObserverSequence": X,
    "PhysicianApprovingInterpretation": X,
    "InterpretationAuthor": X,
    "InterpretationRecorder": X,
    "InterpretationTranscriber": X,
    "InterpretationApproverSequence": X,
    "InterpretationDiagnosisDescription": X,
    "InterpretationIDIssuer": X,
    "InterpretationText": X,
    "Impressions": X,
    "ResultsComments": X,
    "ResultsIDIssuer": X,
    "ResultsDistributionListSequence": X,
    "DistributionName": X,
    "DistributionAddress": X,
    "NamesOfIntendedRecipientsOfResults": X,
    "IntendedRecipientsOfResultsIdentificationSequence": X,
    "CustodialOrganizationSequence": X,
    # Image and acquisition
    "SOPInstanceUID": U,
    "MediaStorageSOPInstanceUID": U,
    "ContentDate": D,
    "ContentTime": D,
    "AcquisitionDate": X,
    "AcquisitionTime": X,
    "AcquisitionDateTime": X,
    "AcquisitionComments": X,
    "AcquisitionContextSequence": X,
    "AcquisitionContextDescription": X,
    "AcquisitionDeviceProcessingDescription": X,
    "AcquisitionProtocolDescription": X,
    "InstanceCreationDate": X,
    "InstanceCreationTime": X,
    "InstanceCreatorUID": U,
    "InstanceCoercionDateTime": X,
    "TimezoneOffsetFromUTC": X,
    "ImageComments": X,
    "FrameComments": X,
    "ImagePresentationComments": X,
    "IdentifyingComments": X,
    "DerivationDescription": X,
    "ModifiedImageDescription": X,
    "ContrastBolusAgent": Z,
    "PreMedication": X,
    "IconImageSequence": X,
    "GraphicAnnotationSequence": X,
    "TextString": X,
    "TextComments": X,
    "ReferencedImageSequence": X,
    "SourceImageSequence": X,
    "ContentSequence": X,
    "FrameOfReferenceUID": U,
    "SynchronizationFrameOfReferenceUID": U,
    "ReferencedFrameOfReferenceUID": U,
    "RelatedFrameOfReferenceUID": U,
    "ConcatenationUID": U,
    "DimensionOrganizationUID": U,
    "IrradiationEventUID": U,
    "LargePaletteColorLookupTableUID": U,
    "ReferencedSOPInstanceUID": U,
    "RequestedSOPInstanceUID": U,
    "AffectedSOPInstanceUID": X,
    "FailedSOPInstanceUIDList": U,
    "StorageMediaFileSetUID": U,
    "TransactionUID": U,
    "FiducialUID": U,
    "TargetUID": U,
    "DoseReferenceUID": U,
    "UID": U,
    "DateTime": X,
    "Date": X,
    "Time": X,
    "TopicTitle": X,
    "TopicSubject": X,
    "TopicAuthor": X,
    "TopicKeywords": X,
    # Integrity and history: signatures and copies of the original values would undo the rest.
    "OriginalAttributesSequence": X,
    "ModifiedAttributesSequence": X,
    "DigitalSignaturesSequence": X,
    "ReferencedDigitalSignatureSequence": X,
    "ReferencedSOPInstanceMACSequence": X,
    "MAC": X,
    "DataSetTrailingPadding": X,
    "Arbitrary": X,
    # Clinical trial identification
    "ClinicalTrialSponsorName": X,
    "ClinicalTrialSiteID": X,
    "ClinicalTrialSiteName": X,
    "ClinicalTrialSubjectID": X,
    "ClinicalTrialSubjectReadingID": X,
    "ClinicalTrialCoordinatingCenterName": X,
    "ClinicalTrialProtocolEthicsCommitteeName": X,
    "ClinicalTrialProtocolEthicsCommitteeApprovalNumber": X,
}

# File meta attributes that name the systems that sent or received the file.
FILE_META_REMOVED = ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle",
                     "ReceivingApplicationEntityTitle", "PrivateInformationCreatorUID",
                     "PrivateInformation")  # fmt: skip

ACTIONS: dict[BaseTag, str] = {Tag(tag_for_keyword(k)): a for k, a in BASIC_PROFILE.items()}

# Dummy values by VR for the D action: valid, and obviously not real.
DUMMY_BY_VR = {
    "DA": "19000101",
    "TM": "000000",
    "DT": "19000101000000",
    "PN": "ANONYMOUS",
}
DUMMY_TEXT = "ANONYMIZED"

# LO: at most 64 characters.
DEIDENTIFICATION_METHOD = "DICOM PS3.15 Annex E Basic Application Confidentiality Profile"
BASIC_PROFILE_CODE = ("113100", "DCM", "Basic Application Confidentiality Profile")

UID_ROOT = "2.25."  # UUID-derived UIDs (PS3.5 B.2): needs no registered organisation root
UID_BITS = 128  # "2.25." + at most 39 digits fits the 64-character limit


def replacement_uid(uid: str, key: str) -> str:
    """The same new UID for the same old one and key, so the images of a study stay together."""
    digest = hmac.new(key.encode(), uid.strip().encode(), hashlib.sha256).digest()
    return UID_ROOT + str(int.from_bytes(digest[: UID_BITS // 8], "big"))


def _is_curve_or_overlay(tag: BaseTag) -> bool:
    # Curves (50xx) and overlays (60xx) are repeating groups the table lists element by element
    # (Curve Data, Overlay Data, Overlay Comments); an overlay is also a way to burn text into a
    # picture, so the whole groups go.
    return tag.group & 0xFF01 in (0x5000, 0x6000)


def _apply(element: DataElement, action: str, key: str) -> bool:
    """Apply one action in place; False when the element must be removed."""
    if action == X:
        return False
    if action == Z:
        element.value = Sequence() if element.VR == "SQ" else None
    elif action == D:
        element.value = (
            Sequence() if element.VR == "SQ" else DUMMY_BY_VR.get(element.VR, DUMMY_TEXT)
        )
    elif action == U and element.value:
        values = element.value if element.VM > 1 else [element.value]
        new = [replacement_uid(str(uid), key) for uid in values]
        element.value = new if element.VM > 1 else new[0]
    return True


def _clean(dataset: Dataset, key: str) -> None:
    for tag in list(dataset.keys()):
        element = dataset[tag]
        action = ACTIONS.get(tag)
        if tag.is_private or _is_curve_or_overlay(tag):
            del dataset[tag]
        elif action is not None:
            if not _apply(element, action, key):
                del dataset[tag]
        elif element.VR == "PN":
            # Defence in depth: a person's name the table does not list is still a name.
            del dataset[tag]
        if tag in dataset and dataset[tag].VR == "SQ":
            for item in dataset[tag].value:
                _clean(item, key)


def _code_item(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def deidentify(dataset: Dataset, key: str) -> None:
    """De-identify `dataset` in place with the basic profile; pixel data is left untouched."""
    _clean(dataset, key)
    meta = getattr(dataset, "file_meta", None)
    if meta is not None:
        for keyword in FILE_META_REMOVED:
            if keyword in meta:
                delattr(meta, keyword)
        if "SOPInstanceUID" in dataset:
            meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.PatientIdentityRemoved = "YES"
    dataset.DeidentificationMethod = DEIDENTIFICATION_METHOD
    dataset.DeidentificationMethodCodeSequence = Sequence([_code_item(*BASIC_PROFILE_CODE)])
