/// The advisory locks, each the schema's (the first of `search_path`): the daemons of one
/// deployment share it, while deployments in other schemas of the same database neither wait for
/// it nor take it from them (a lock is per database, not per schema). Two schemas whose names
/// hash alike would only wait for each other, never share a journal.
enum AdvisoryLock: Int32 {
    /// Migrations ("GJDB").
    case migration = 0x474A_4442
    /// The retention clean-up ("GJCL"): one daemon at a time runs it.
    case cleanup = 0x474A_434C
    /// The event journal's order ("GJEV"): a transaction takes it right before it positions its
    /// events and holds it until it commits, so positions are given in commit order and a reader
    /// that saw position N can never later find a smaller one.
    case events = 0x474A_4556
    /// The wallet's return job ("GJWR"): one daemon at a time runs it.
    case walletReturn = 0x474A_5752

    /// The arguments of `pg_advisory_lock` and its kin that name this lock in the current schema.
    var arguments: String { "\(rawValue), hashtext(current_schema())" }
}

/// The PostgreSQL schema, as versioned migrations applied once under an advisory lock (several
/// daemons may start together). The same tables and constraints as the SQLite schema
/// (`GongjiSQLite/Schema.swift`): CHECKs, UNIQUE(member, year), an append-only ledger.
enum PostgresSchema {
    /// The channel a commit with events notifies (the payload is empty: the table is the truth).
    static let eventChannel = "gongji_events"

    static let migrations: [(name: String, sql: String)] = [
        ("v1", v1), ("v2-document-blobs", v2DocumentBlobs),
        ("v3-document-segments", v3DocumentSegments),
        ("v4-binding-relationship-vocabulary", v4BindingRelationshipVocabulary),
        ("v5-event-journal", v5EventJournal),
        ("v6-wallet", v6Wallet),
    ]

    static let v1 = """
        CREATE TABLE person (
          id_number TEXT PRIMARY KEY CHECK (length(id_number) = 18),
          name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
          insurance_type TEXT NOT NULL CHECK (insurance_type IN ('employee', 'resident', 'none')),
          status TEXT NOT NULL CHECK (status IN ('normal', 'suspended', 'terminated')),
          region_code BIGINT NOT NULL CHECK (region_code BETWEEN 100000 AND 999999),
          special_category TEXT CHECK (special_category IS NULL OR length(special_category) BETWEEN 1 AND 64),
          updated_at BIGINT NOT NULL
        );
        CREATE TABLE person_paid_year (
          id_number TEXT NOT NULL REFERENCES person(id_number) ON DELETE CASCADE,
          year BIGINT NOT NULL CHECK (year BETWEEN 2000 AND 2200),
          PRIMARY KEY (id_number, year)
        );
        CREATE TABLE account (
          id_number TEXT PRIMARY KEY REFERENCES person(id_number),
          year BIGINT NOT NULL CHECK (year BETWEEN 2000 AND 2200),
          current_year_fen BIGINT NOT NULL CHECK (current_year_fen >= 0),
          carry_over_fen BIGINT NOT NULL CHECK (carry_over_fen >= 0)
        );
        CREATE TABLE account_credit (
          reference TEXT PRIMARY KEY CHECK (length(reference) BETWEEN 1 AND 64),
          id_number TEXT NOT NULL REFERENCES person(id_number),
          amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
          created_at BIGINT NOT NULL
        );
        CREATE TABLE document (
          id TEXT PRIMARY KEY CHECK (length(id) = 64),
          side TEXT NOT NULL CHECK (side IN ('front', 'back')),
          media_type TEXT NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png')),
          size_bytes BIGINT NOT NULL CHECK (size_bytes > 0),
          uploaded_at BIGINT NOT NULL
        );
        CREATE TABLE document_uploader (
          document_id TEXT NOT NULL REFERENCES document(id) ON DELETE CASCADE,
          uploader TEXT NOT NULL,
          uploaded_at BIGINT NOT NULL,
          PRIMARY KEY (document_id, uploader)
        );
        CREATE INDEX document_uploader_by_time ON document_uploader(uploaded_at);
        CREATE TABLE binding (
          seq BIGSERIAL PRIMARY KEY,
          id TEXT NOT NULL UNIQUE,
          authorizer TEXT NOT NULL REFERENCES person(id_number),
          member TEXT NOT NULL REFERENCES person(id_number),
          member_name TEXT NOT NULL,
          relationship TEXT NOT NULL,
          region_code BIGINT NOT NULL,
          start_date TEXT NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'rejected', 'revoked')),
          newborn BOOLEAN NOT NULL,
          commitment_version TEXT,
          commitment_accepted_at BIGINT,
          front_document TEXT,
          back_document TEXT,
          rejection_reason TEXT,
          medical_limit_fen BIGINT CHECK (medical_limit_fen IS NULL OR medical_limit_fen >= 0),
          ended_by TEXT CHECK (ended_by IS NULL OR ended_by IN ('authorizer', 'member', 'registry')),
          end_reason TEXT,
          created_at BIGINT NOT NULL,
          updated_at BIGINT NOT NULL
        );
        CREATE INDEX binding_by_authorizer ON binding(authorizer, seq);
        CREATE INDEX binding_by_member ON binding(member, seq);
        CREATE INDEX binding_pending ON binding(seq) WHERE status = 'pending';
        -- One open binding per pair, also across daemons.
        CREATE UNIQUE INDEX binding_one_open_per_pair ON binding(authorizer, member) WHERE status IN ('pending', 'active');
        CREATE TABLE binding_event (
          seq BIGSERIAL PRIMARY KEY,
          binding_id TEXT NOT NULL REFERENCES binding(id),
          status TEXT NOT NULL,
          certificate_identity TEXT NOT NULL,
          end_user TEXT,
          request_id TEXT,
          reason TEXT,
          at BIGINT NOT NULL
        );
        CREATE INDEX binding_event_by_binding ON binding_event(binding_id, seq);
        CREATE TABLE payment (
          seq BIGSERIAL PRIMARY KEY,
          id TEXT NOT NULL UNIQUE,
          binding_id TEXT NOT NULL REFERENCES binding(id),
          authorizer TEXT NOT NULL REFERENCES person(id_number),
          member TEXT NOT NULL REFERENCES person(id_number),
          member_name TEXT NOT NULL,
          authorizer_name TEXT NOT NULL,
          region_code BIGINT NOT NULL,
          total_fen BIGINT NOT NULL CHECK (total_fen >= 0),
          account_fen BIGINT NOT NULL CHECK (account_fen >= 0),
          external_fen BIGINT NOT NULL CHECK (external_fen >= 0),
          external_reference TEXT,
          receipt_number TEXT NOT NULL UNIQUE,
          enrolled_member BOOLEAN NOT NULL,
          created_at BIGINT NOT NULL,
          CHECK (account_fen + external_fen = total_fen),
          CHECK (external_fen = 0 OR external_reference IS NOT NULL)
        );
        CREATE TABLE payment_year (
          payment_id TEXT NOT NULL REFERENCES payment(id),
          member TEXT NOT NULL,
          year BIGINT NOT NULL,
          amount_fen BIGINT NOT NULL CHECK (amount_fen >= 0),
          category TEXT,
          late BOOLEAN NOT NULL,
          benefit_start TEXT,
          PRIMARY KEY (payment_id, year),
          UNIQUE (member, year)
        );
        CREATE TABLE payment_posting (
          payment_id TEXT NOT NULL REFERENCES payment(id),
          part TEXT NOT NULL CHECK (part IN ('current_year', 'carry_over')),
          amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
          PRIMARY KEY (payment_id, part)
        );
        CREATE TABLE ledger_entry (
          seq BIGSERIAL PRIMARY KEY,
          movement TEXT NOT NULL,
          account TEXT NOT NULL,
          amount_fen BIGINT NOT NULL CHECK (amount_fen <> 0),
          at BIGINT NOT NULL
        );
        CREATE INDEX ledger_by_movement ON ledger_entry(movement);
        CREATE INDEX ledger_by_account ON ledger_entry(account);
        CREATE FUNCTION ledger_entry_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN RAISE EXCEPTION 'ledger entries are immutable'; END $$;
        CREATE TRIGGER ledger_entry_immutable BEFORE UPDATE OR DELETE ON ledger_entry
          FOR EACH ROW EXECUTE FUNCTION ledger_entry_immutable();
        CREATE TABLE idempotency (
          scope TEXT NOT NULL,
          request_id TEXT NOT NULL,
          fingerprint BYTEA NOT NULL,
          result TEXT NOT NULL,
          created_at BIGINT NOT NULL,
          PRIMARY KEY (scope, request_id)
        );
        CREATE TABLE region_availability (
          region_code BIGINT PRIMARY KEY,
          suspended BOOLEAN NOT NULL,
          updated_at BIGINT NOT NULL
        );
        CREATE TABLE year_rollover (
          year BIGINT PRIMARY KEY CHECK (year BETWEEN 2000 AND 2200),
          accounts BIGINT NOT NULL CHECK (accounts >= 0),
          at BIGINT NOT NULL
        );
        CREATE TABLE institution (
          code TEXT PRIMARY KEY CHECK (length(code) = 12 AND substr(code, 1, 1) IN ('H', 'P')),
          name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
          kind TEXT NOT NULL CHECK (kind IN ('hospital', 'pharmacy')),
          region_code BIGINT NOT NULL CHECK (region_code BETWEEN 100000 AND 999999),
          valid_from TEXT NOT NULL,
          valid_to TEXT,
          updated_at BIGINT NOT NULL,
          CHECK ((kind = 'hospital') = (substr(code, 1, 1) = 'H'))
        );
        CREATE TABLE settlement (
          seq BIGSERIAL PRIMARY KEY,
          institution_code TEXT NOT NULL REFERENCES institution(code),
          settlement_id TEXT NOT NULL CHECK (length(settlement_id) BETWEEN 1 AND 64),
          region_code BIGINT NOT NULL,
          patient TEXT NOT NULL REFERENCES person(id_number),
          patient_name TEXT NOT NULL,
          amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
          acct_pay_fen BIGINT NOT NULL CHECK (acct_pay_fen >= 0),
          acct_mulaid_pay_fen BIGINT NOT NULL CHECK (acct_mulaid_pay_fen >= 0),
          cash_fen BIGINT NOT NULL CHECK (cash_fen >= 0),
          family TEXT NOT NULL,
          family_zero_note TEXT,
          status TEXT NOT NULL CHECK (status IN ('settled', 'reversed')),
          settled_at BIGINT NOT NULL,
          settled_on TEXT NOT NULL,
          reversed_at BIGINT,
          reversed_on TEXT,
          UNIQUE (institution_code, settlement_id),
          CHECK (acct_pay_fen + acct_mulaid_pay_fen + cash_fen = amount_fen),
          CHECK ((status = 'reversed') = (reversed_at IS NOT NULL))
        );
        CREATE INDEX settlement_by_day ON settlement(institution_code, settled_on);
        CREATE INDEX settlement_by_region_day ON settlement(region_code, settled_on);
        CREATE TABLE settlement_posting (
          settlement_seq BIGINT NOT NULL REFERENCES settlement(seq),
          position BIGINT NOT NULL,
          owner TEXT NOT NULL REFERENCES person(id_number),
          part TEXT NOT NULL CHECK (part IN ('current_year', 'carry_over')),
          amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
          binding_id TEXT REFERENCES binding(id),
          account_year BIGINT NOT NULL,
          settled_year BIGINT NOT NULL,
          PRIMARY KEY (settlement_seq, position)
        );
        CREATE INDEX settlement_posting_by_binding ON settlement_posting(binding_id, settled_year) WHERE binding_id IS NOT NULL;
        CREATE TABLE account_use (
          seq BIGSERIAL PRIMARY KEY,
          kind TEXT NOT NULL CHECK (kind IN ('premium', 'settlement', 'reversal')),
          account_owner TEXT NOT NULL,
          member TEXT NOT NULL,
          member_name TEXT NOT NULL,
          amount_fen BIGINT NOT NULL CHECK (amount_fen >= 0),
          payment_id TEXT REFERENCES payment(id),
          settlement_seq BIGINT REFERENCES settlement(seq),
          at BIGINT NOT NULL,
          CHECK ((kind = 'premium') = (payment_id IS NOT NULL))
        );
        CREATE INDEX account_use_by_owner ON account_use(account_owner, seq);
        CREATE INDEX account_use_by_member ON account_use(member, seq);
        """
}

extension PostgresSchema {
    /// Sealed identity documents (the same AES-GCM segments as the files of the SQLite mode), so
    /// that every daemon can serve every document.
    static let v2DocumentBlobs = """
        CREATE TABLE document_blob (
          id TEXT PRIMARY KEY CHECK (length(id) = 64),
          sealed BYTEA NOT NULL,
          created_at BIGINT NOT NULL
        )
        """

    /// A document's sealed bytes in segments of at most `PostgresDocumentBlobs.segmentBytes` (262144)
    /// (rows of `document_blob_segment`; `document_blob` keeps one row per document). One big
    /// `bytea` made every pooled connection that carried it keep a buffer of its size for good.
    static let v3DocumentSegments = """
        CREATE TABLE document_blob_segment (
          id TEXT NOT NULL REFERENCES document_blob (id) ON DELETE CASCADE,
          position INTEGER NOT NULL CHECK (position >= 0),
          bytes BYTEA NOT NULL,
          PRIMARY KEY (id, position)
        );
        INSERT INTO document_blob_segment (id, position, bytes)
          SELECT id, part.position, substring(sealed FROM part.position * 262144 + 1 FOR 262144)
          FROM document_blob, LATERAL generate_series(0, GREATEST((length(sealed) - 1) / 262144, 0)) AS part(position);
        ALTER TABLE document_blob DROP COLUMN sealed
        """

    /// A binding's relationship is one the vocabulary knows (R-BIND-2a: which of them a region
    /// allows is policy, decided in the core), as the SQLite schema checks since its v6.
    static let v4BindingRelationshipVocabulary = """
        ALTER TABLE binding ADD CONSTRAINT binding_relationship_known
          CHECK (relationship IN ('spouse', 'parent', 'child', 'grandparent', 'grandchild', 'sibling'))
        """

    /// R-EVT-1: the event journal, as the SQLite schema's v7. Positions come from a sequence
    /// under `eventLock` (see `PostgresStore.apply`); `event_retention` has its row once the
    /// clean-up first removes events.
    static let v5EventJournal = """
        CREATE TABLE event (
          seq BIGSERIAL PRIMARY KEY,
          kind TEXT NOT NULL CHECK (kind IN ('premium_paid', 'settled', 'settlement_reversed', 'binding_created',
            'binding_approved', 'binding_rejected', 'binding_ended', 'limit_changed', 'family_use_frozen', 'family_use_unfrozen')),
          at BIGINT NOT NULL,
          authorizer TEXT NOT NULL CHECK (length(authorizer) = 18),
          member TEXT NOT NULL CHECK (length(member) = 18),
          member_name_masked TEXT NOT NULL,
          binding_id TEXT,
          amount_fen BIGINT CHECK (amount_fen IS NULL OR amount_fen >= 0),
          parts TEXT NOT NULL,
          institution_code TEXT,
          institution_name TEXT,
          institution_kind TEXT CHECK (institution_kind IS NULL OR institution_kind IN ('hospital', 'pharmacy')),
          balance_after_fen BIGINT,
          reference TEXT
        );
        CREATE INDEX event_by_authorizer ON event(authorizer, seq);
        CREATE INDEX event_by_member ON event(member, seq);
        CREATE INDEX event_by_time ON event(at);
        CREATE FUNCTION event_never_changes() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN RAISE EXCEPTION 'events are never changed'; END $$;
        CREATE TRIGGER event_never_changes BEFORE UPDATE ON event FOR EACH ROW EXECUTE FUNCTION event_never_changes();
        CREATE TABLE event_retention (
          id BIGINT PRIMARY KEY CHECK (id = 1),
          removed_through BIGINT NOT NULL
        );
        ALTER TABLE binding ADD COLUMN frozen BOOLEAN NOT NULL DEFAULT false;
        ALTER TABLE binding ADD COLUMN settlement_limit_fen BIGINT CHECK (settlement_limit_fen IS NULL OR settlement_limit_fen >= 0);
        ALTER TABLE binding ADD COLUMN daily_limit_fen BIGINT CHECK (daily_limit_fen IS NULL OR daily_limit_fen >= 0)
        """

    /// R-XP-*: the members' wallets, their transfers and holdings, as the SQLite schema's v8; the
    /// journal takes the wallet's event kinds.
    static let v6Wallet = """
        ALTER TABLE event DROP CONSTRAINT event_kind_check;
        ALTER TABLE event ADD CONSTRAINT event_kind_check CHECK (kind IN ('premium_paid', 'settled', 'settlement_reversed',
          'binding_created', 'binding_approved', 'binding_rejected', 'binding_ended', 'limit_changed', 'family_use_frozen',
          'family_use_unfrozen', 'wallet_transfer_sent', 'wallet_transfer_accepted', 'wallet_transfer_declined',
          'wallet_transfer_returned', 'wallet_returned'));
        CREATE TABLE wallet (
          member TEXT PRIMARY KEY CHECK (length(member) = 18),
          province BIGINT NOT NULL CHECK (province BETWEEN 100000 AND 999999),
          opened_at BIGINT NOT NULL
        );
        CREATE TABLE wallet_transfer (
          seq BIGSERIAL PRIMARY KEY,
          id TEXT NOT NULL UNIQUE,
          binding_id TEXT NOT NULL REFERENCES binding(id),
          authorizer TEXT NOT NULL CHECK (length(authorizer) = 18),
          member TEXT NOT NULL REFERENCES wallet(member),
          member_name TEXT NOT NULL,
          current_year_fen BIGINT NOT NULL CHECK (current_year_fen >= 0),
          carry_over_fen BIGINT NOT NULL CHECK (carry_over_fen >= 0),
          account_year BIGINT NOT NULL,
          from_province BIGINT NOT NULL,
          to_province BIGINT NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'returned')),
          sent_on TEXT NOT NULL,
          sent_at BIGINT NOT NULL,
          return_due_at BIGINT NOT NULL,
          resolved_at BIGINT,
          CHECK (current_year_fen + carry_over_fen > 0),
          CHECK ((status = 'pending') = (resolved_at IS NULL))
        );
        CREATE INDEX wallet_transfer_by_authorizer ON wallet_transfer(authorizer, seq);
        CREATE INDEX wallet_transfer_by_member ON wallet_transfer(member, seq);
        CREATE INDEX wallet_transfer_by_day ON wallet_transfer(authorizer, sent_on);
        CREATE INDEX wallet_transfer_due ON wallet_transfer(return_due_at) WHERE status = 'pending';
        CREATE INDEX wallet_transfer_pending_by_binding ON wallet_transfer(binding_id) WHERE status = 'pending';
        CREATE TABLE wallet_holding (
          binding_id TEXT PRIMARY KEY REFERENCES binding(id),
          member TEXT NOT NULL REFERENCES wallet(member),
          authorizer TEXT NOT NULL CHECK (length(authorizer) = 18),
          current_year_fen BIGINT NOT NULL CHECK (current_year_fen >= 0),
          carry_over_fen BIGINT NOT NULL CHECK (carry_over_fen >= 0),
          from_province BIGINT,
          to_province BIGINT,
          updated_at BIGINT NOT NULL
        );
        CREATE INDEX wallet_holding_by_member ON wallet_holding(member);
        CREATE TABLE wallet_movement (
          seq BIGSERIAL PRIMARY KEY,
          kind TEXT NOT NULL CHECK (kind IN ('granted', 'spent', 'reversed', 'returned')),
          from_province BIGINT NOT NULL,
          to_province BIGINT NOT NULL,
          amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
          binding_id TEXT NOT NULL,
          reference TEXT NOT NULL,
          at BIGINT NOT NULL
        );
        CREATE INDEX wallet_movement_by_time ON wallet_movement(at);
        ALTER TABLE settlement_posting ADD COLUMN from_wallet BOOLEAN NOT NULL DEFAULT false;
        ALTER TABLE payment ADD COLUMN from_wallet BOOLEAN NOT NULL DEFAULT false;
        ALTER TABLE payment ADD COLUMN kind TEXT NOT NULL DEFAULT 'resident' CHECK (kind IN ('resident', 'long_term_care'));
        ALTER TABLE payment_year ADD COLUMN kind TEXT NOT NULL DEFAULT 'resident' CHECK (kind IN ('resident', 'long_term_care'));
        ALTER TABLE payment_year DROP CONSTRAINT payment_year_member_year_key;
        ALTER TABLE payment_year ADD CONSTRAINT payment_year_member_year_kind_key UNIQUE (member, year, kind);
        ALTER TABLE account_use DROP CONSTRAINT account_use_kind_check;
        ALTER TABLE account_use ADD CONSTRAINT account_use_kind_check CHECK (kind IN ('premium', 'settlement', 'reversal',
          'wallet_transfer', 'wallet_transfer_accepted', 'wallet_transfer_declined', 'wallet_returned'));
        ALTER TABLE account_use ADD COLUMN reference TEXT
        """
}
