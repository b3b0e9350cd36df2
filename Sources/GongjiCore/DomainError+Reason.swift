extension DomainError {
    /// A stable reason: the UPPER_SNAKE identifier in a status's `google.rpc.ErrorInfo` that
    /// clients switch on. Every reason Gongji answers with is one of the constants below (this is
    /// the catalogue, like `RPCError.Code`); docs/api.md says when each occurs.
    public struct Reason: Hashable, Sendable, CustomStringConvertible {
        /// The identifier, e.g. `MEMBER_LIMIT_REACHED`.
        public let name: String

        init(_ name: String) { self.name = name }

        public var description: String { name }

        /// `AMOUNT_MISMATCH`
        public static let amountMismatch = Reason("AMOUNT_MISMATCH")
        /// `AMOUNT_OUT_OF_RANGE`
        public static let amountOutOfRange = Reason("AMOUNT_OUT_OF_RANGE")
        /// `AUTHORIZER_BALANCE_NOT_POSITIVE`
        public static let authorizerBalanceNotPositive = Reason("AUTHORIZER_BALANCE_NOT_POSITIVE")
        /// `AUTHORIZER_NOT_EMPLOYEE_INSURED`
        public static let authorizerNotEmployeeInsured = Reason("AUTHORIZER_NOT_EMPLOYEE_INSURED")
        /// `AUTHORIZER_NOT_FOUND`
        public static let authorizerNotFound = Reason("AUTHORIZER_NOT_FOUND")
        /// `AUTHORIZER_REGION_NOT_ALLOWED`
        public static let authorizerRegionNotAllowed = Reason("AUTHORIZER_REGION_NOT_ALLOWED")
        /// `AUTHORIZER_REGION_NOT_SUPPORTED`
        public static let authorizerRegionNotSupported = Reason("AUTHORIZER_REGION_NOT_SUPPORTED")
        /// `AUTHORIZER_STATUS_NOT_NORMAL`
        public static let authorizerStatusNotNormal = Reason("AUTHORIZER_STATUS_NOT_NORMAL")
        /// `BALANCE_INSUFFICIENT`
        public static let balanceInsufficient = Reason("BALANCE_INSUFFICIENT")
        /// `BINDING_ACTIVE`
        public static let bindingActive = Reason("BINDING_ACTIVE")
        /// `BINDING_ALREADY_EXISTS`
        public static let bindingAlreadyExists = Reason("BINDING_ALREADY_EXISTS")
        /// `BINDING_NOT_FOUND`
        public static let bindingNotFound = Reason("BINDING_NOT_FOUND")
        /// `BINDING_NOT_STARTED`
        public static let bindingNotStarted = Reason("BINDING_NOT_STARTED")
        /// `BINDING_PENDING_REVIEW`
        public static let bindingPendingReview = Reason("BINDING_PENDING_REVIEW")
        /// `BINDING_REJECTED`
        public static let bindingRejected = Reason("BINDING_REJECTED")
        /// `BINDING_REVOKED`
        public static let bindingRevoked = Reason("BINDING_REVOKED")
        /// `CALL_TIMEOUT`
        public static let callTimeout = Reason("CALL_TIMEOUT")
        /// `CLIENT_CERTIFICATE_REQUIRED`
        public static let clientCertificateRequired = Reason("CLIENT_CERTIFICATE_REQUIRED")
        /// `COLLECTION_NOT_OPEN`
        public static let collectionNotOpen = Reason("COLLECTION_NOT_OPEN")
        /// `COMMITMENT_REQUIRED`
        public static let commitmentRequired = Reason("COMMITMENT_REQUIRED")
        /// `COMMITMENT_TIME_INVALID`
        public static let commitmentTimeInvalid = Reason("COMMITMENT_TIME_INVALID")
        /// `COMMITMENT_VERSION_UNKNOWN`
        public static let commitmentVersionUnknown = Reason("COMMITMENT_VERSION_UNKNOWN")
        /// `CREDENTIAL_NOT_MEMBERS_OWN`
        public static let credentialNotMembersOwn = Reason("CREDENTIAL_NOT_MEMBERS_OWN")
        /// `CREDENTIAL_NOT_PATIENTS_OWN`
        public static let credentialNotPatientsOwn = Reason("CREDENTIAL_NOT_PATIENTS_OWN")
        /// `CREDIT_REFERENCE_REUSED`
        public static let creditReferenceReused = Reason("CREDIT_REFERENCE_REUSED")
        /// `CROSS_PROVINCE_NOT_ALLOWED`
        public static let crossProvinceNotAllowed = Reason("CROSS_PROVINCE_NOT_ALLOWED")
        /// `DATABASE_UNAVAILABLE`
        public static let databaseUnavailable = Reason("DATABASE_UNAVAILABLE")
        /// `DOCUMENT_CORRUPTED`
        public static let documentCorrupted = Reason("DOCUMENT_CORRUPTED")
        /// `DOCUMENT_EMPTY`
        public static let documentEmpty = Reason("DOCUMENT_EMPTY")
        /// `DOCUMENT_MISSING`
        public static let documentMissing = Reason("DOCUMENT_MISSING")
        /// `DOCUMENT_NOT_FOUND`
        public static let documentNotFound = Reason("DOCUMENT_NOT_FOUND")
        /// `DOCUMENT_SIDE_CONFLICT`
        public static let documentSideConflict = Reason("DOCUMENT_SIDE_CONFLICT")
        /// `DOCUMENT_SIDE_MISMATCH`
        public static let documentSideMismatch = Reason("DOCUMENT_SIDE_MISMATCH")
        /// `DOCUMENT_TOO_LARGE`
        public static let documentTooLarge = Reason("DOCUMENT_TOO_LARGE")
        /// `END_USER_INVALID`
        public static let endUserInvalid = Reason("END_USER_INVALID")
        /// `END_USER_REQUIRED`
        public static let endUserRequired = Reason("END_USER_REQUIRED")
        /// `EXTERNAL_AMOUNT_MISMATCH`
        public static let externalAmountMismatch = Reason("EXTERNAL_AMOUNT_MISMATCH")
        /// `EXTERNAL_PAYMENT_NOT_ALLOWED`
        public static let externalPaymentNotAllowed = Reason("EXTERNAL_PAYMENT_NOT_ALLOWED")
        /// `EXTERNAL_REFERENCE_REQUIRED`
        public static let externalReferenceRequired = Reason("EXTERNAL_REFERENCE_REQUIRED")
        /// `FAMILY_PAYMENT_SUSPENDED`
        public static let familyPaymentSuspended = Reason("FAMILY_PAYMENT_SUSPENDED")
        /// `FUND_USE_OUT_OF_SCOPE`
        public static let fundUseOutOfScope = Reason("FUND_USE_OUT_OF_SCOPE")
        /// `USE_LIMIT_ABOVE_MAXIMUM`
        public static let useLimitAboveMaximum = Reason("USE_LIMIT_ABOVE_MAXIMUM")
        /// `FAMILY_USE_FROZEN`
        public static let familyUseFrozen = Reason("FAMILY_USE_FROZEN")
        /// `ID_IMAGES_REQUIRED`
        public static let idImagesRequired = Reason("ID_IMAGES_REQUIRED")
        /// `ID_NUMBER_BIRTH_DATE_INVALID`
        public static let idNumberBirthDateInvalid = Reason("ID_NUMBER_BIRTH_DATE_INVALID")
        /// `ID_NUMBER_BIRTH_DATE_IN_FUTURE`
        public static let idNumberBirthDateInFuture = Reason("ID_NUMBER_BIRTH_DATE_IN_FUTURE")
        /// `ID_NUMBER_CHECK_FAILED`
        public static let idNumberCheckFailed = Reason("ID_NUMBER_CHECK_FAILED")
        /// `ID_NUMBER_FORMAT_INVALID`
        public static let idNumberFormatInvalid = Reason("ID_NUMBER_FORMAT_INVALID")
        /// `ID_NUMBER_LENGTH_INVALID`
        public static let idNumberLengthInvalid = Reason("ID_NUMBER_LENGTH_INVALID")
        /// `ID_NUMBER_REGION_INVALID`
        public static let idNumberRegionInvalid = Reason("ID_NUMBER_REGION_INVALID")
        /// `IMPORT_HEADER_REPEATED`
        public static let importHeaderRepeated = Reason("IMPORT_HEADER_REPEATED")
        /// `IMPORT_HEADER_REQUIRED`
        public static let importHeaderRequired = Reason("IMPORT_HEADER_REQUIRED")
        /// `IMPORT_ROW_INVALID`
        public static let importRowInvalid = Reason("IMPORT_ROW_INVALID")
        /// `IMPORT_TOO_LARGE`
        public static let importTooLarge = Reason("IMPORT_TOO_LARGE")
        /// `INSTITUTION_NOT_ALLOWED`
        public static let institutionNotAllowed = Reason("INSTITUTION_NOT_ALLOWED")
        /// `INSTITUTION_NOT_FOUND`
        public static let institutionNotFound = Reason("INSTITUTION_NOT_FOUND")
        /// `INSTITUTION_NOT_VALID`
        public static let institutionNotValid = Reason("INSTITUTION_NOT_VALID")
        /// `INTERNAL`
        public static let `internal` = Reason("INTERNAL")
        /// `INVALID_FIELD`
        public static let invalidField = Reason("INVALID_FIELD")
        /// `MEDICAL_LIMIT_ABOVE_MAXIMUM`
        public static let medicalLimitAboveMaximum = Reason("MEDICAL_LIMIT_ABOVE_MAXIMUM")
        /// `MEMBER_ACCOUNT_NOT_EMPTY`
        public static let memberAccountNotEmpty = Reason("MEMBER_ACCOUNT_NOT_EMPTY")
        /// `MEMBER_INSURANCE_TYPE_NOT_ALLOWED`
        public static let memberInsuranceTypeNotAllowed = Reason("MEMBER_INSURANCE_TYPE_NOT_ALLOWED")
        /// `MEMBER_LIMIT_REACHED`
        public static let memberLimitReached = Reason("MEMBER_LIMIT_REACHED")
        /// `MEMBER_NOT_FOUND`
        public static let memberNotFound = Reason("MEMBER_NOT_FOUND")
        /// `MEMBER_NOT_INSURED`
        public static let memberNotInsured = Reason("MEMBER_NOT_INSURED")
        /// `MEMBER_TERMINATED`
        public static let memberTerminated = Reason("MEMBER_TERMINATED")
        /// `MEMBER_REGION_NOT_SUPPORTED`
        public static let memberRegionNotSupported = Reason("MEMBER_REGION_NOT_SUPPORTED")
        /// `MEMBER_STATUS_NOT_NORMAL`
        public static let memberStatusNotNormal = Reason("MEMBER_STATUS_NOT_NORMAL")
        /// `MESSAGE_TOO_LARGE`
        public static let messageTooLarge = Reason("MESSAGE_TOO_LARGE")
        /// `NAME_MISMATCH`
        public static let nameMismatch = Reason("NAME_MISMATCH")
        /// `NEWBORN_WINDOW_PASSED`
        public static let newbornWindowPassed = Reason("NEWBORN_WINDOW_PASSED")
        /// `NOT_AN_IMAGE`
        public static let notAnImage = Reason("NOT_AN_IMAGE")
        /// `NOT_AUTHORIZER`
        public static let notAuthorizer = Reason("NOT_AUTHORIZER")
        /// `NOT_EMPLOYEE_INSURED`
        public static let notEmployeeInsured = Reason("NOT_EMPLOYEE_INSURED")
        /// `NOT_PARTY`
        public static let notParty = Reason("NOT_PARTY")
        /// `PAGE_TOKEN_INVALID`
        public static let pageTokenInvalid = Reason("PAGE_TOKEN_INVALID")
        /// `PERSON_NOT_FOUND`
        public static let personNotFound = Reason("PERSON_NOT_FOUND")
        /// `POLICY_INVALID`
        public static let policyInvalid = Reason("POLICY_INVALID")
        /// `PREMIUM_ALREADY_PAID`
        public static let premiumAlreadyPaid = Reason("PREMIUM_ALREADY_PAID")
        /// `PREMIUM_NOT_PUBLISHED`
        public static let premiumNotPublished = Reason("PREMIUM_NOT_PUBLISHED")
        /// `PREMIUM_YEAR_UNKNOWN`
        public static let premiumYearUnknown = Reason("PREMIUM_YEAR_UNKNOWN")
        /// `RECONCILIATION_HEADER_REPEATED`
        public static let reconciliationHeaderRepeated = Reason("RECONCILIATION_HEADER_REPEATED")
        /// `RECONCILIATION_BUSY`
        public static let reconciliationBusy = Reason("RECONCILIATION_BUSY")
        /// `RECONCILIATION_HEADER_REQUIRED`
        public static let reconciliationHeaderRequired = Reason("RECONCILIATION_HEADER_REQUIRED")
        /// `EVENT_POSITION_GONE`
        public static let eventPositionGone = Reason("EVENT_POSITION_GONE")
        /// `FOLLOWERS_BUSY`
        public static let followersBusy = Reason("FOLLOWERS_BUSY")
        /// `FOLLOWER_TOO_SLOW`
        public static let followerTooSlow = Reason("FOLLOWER_TOO_SLOW")
        /// `DAEMON_STOPPING`
        public static let daemonStopping = Reason("DAEMON_STOPPING")
        /// `REGION_NOT_FOUND`
        public static let regionNotFound = Reason("REGION_NOT_FOUND")
        /// `RELATIONSHIP_IMPLAUSIBLE`
        public static let relationshipImplausible = Reason("RELATIONSHIP_IMPLAUSIBLE")
        /// `RELATIONSHIP_NOT_ALLOWED`
        public static let relationshipNotAllowed = Reason("RELATIONSHIP_NOT_ALLOWED")
        /// `REQUEST_ID_REQUIRED`
        public static let requestIDRequired = Reason("REQUEST_ID_REQUIRED")
        /// `REQUEST_ID_REUSED`
        public static let requestIDReused = Reason("REQUEST_ID_REUSED")
        /// `REVERSAL_PERIOD_PASSED`
        public static let reversalPeriodPassed = Reason("REVERSAL_PERIOD_PASSED")
        /// `ROLE_NOT_ALLOWED`
        public static let roleNotAllowed = Reason("ROLE_NOT_ALLOWED")
        /// `ROLLOVER_BACKWARDS`
        public static let rolloverBackwards = Reason("ROLLOVER_BACKWARDS")
        /// `ROLLOVER_YEAR_INVALID`
        public static let rolloverYearInvalid = Reason("ROLLOVER_YEAR_INVALID")
        /// `ROLLOVER_YEAR_NOT_BEGUN`
        public static let rolloverYearNotBegun = Reason("ROLLOVER_YEAR_NOT_BEGUN")
        /// `SELF_BINDING_NOT_ALLOWED`
        public static let selfBindingNotAllowed = Reason("SELF_BINDING_NOT_ALLOWED")
        /// `SETTLEMENT_ID_REUSED`
        public static let settlementIDReused = Reason("SETTLEMENT_ID_REUSED")
        /// `SETTLEMENT_NOT_FOUND`
        public static let settlementNotFound = Reason("SETTLEMENT_NOT_FOUND")
        /// `START_DATE_IN_PAST`
        public static let startDateInPast = Reason("START_DATE_IN_PAST")
        /// `STORAGE_FULL`
        public static let storageFull = Reason("STORAGE_FULL")
        /// `UPLOAD_METADATA_REPEATED`
        public static let uploadMetadataRepeated = Reason("UPLOAD_METADATA_REPEATED")
        /// `LONG_TERM_CARE_NOT_OFFERED`
        public static let longTermCareNotOffered = Reason("LONG_TERM_CARE_NOT_OFFERED")
        /// `MONTH_NOT_ENDED`
        public static let monthNotEnded = Reason("MONTH_NOT_ENDED")
        /// `NOT_CROSS_PROVINCE`
        public static let notCrossProvince = Reason("NOT_CROSS_PROVINCE")
        /// `WALLET_NOT_OPEN`
        public static let walletNotOpen = Reason("WALLET_NOT_OPEN")
        /// `TRANSFER_ABOVE_MAXIMUM`
        public static let transferAboveMaximum = Reason("TRANSFER_ABOVE_MAXIMUM")
        /// `TRANSFER_QUIET_HOURS`
        public static let transferQuietHours = Reason("TRANSFER_QUIET_HOURS")
        /// `TRANSFERS_PER_DAY_REACHED`
        public static let transfersPerDayReached = Reason("TRANSFERS_PER_DAY_REACHED")
        /// `TRANSFER_PENDING`
        public static let transferPending = Reason("TRANSFER_PENDING")
        /// `TRANSFER_NOT_PENDING`
        public static let transferNotPending = Reason("TRANSFER_NOT_PENDING")
        /// `NOT_MEMBER`
        public static let notMember = Reason("NOT_MEMBER")
        /// `UPLOAD_METADATA_REQUIRED`
        public static let uploadMetadataRequired = Reason("UPLOAD_METADATA_REQUIRED")
    }
}
