import GRDB
import GongjiStorage

/// The database schema, as versioned migrations. A shipped migration is never edited: changes
/// come as new migrations appended here.
enum Schema {
    /// SQLite's `application_id` of a Gongji database ("GJDB").
    static let applicationID: UInt32 = 0x474A_4442

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1", migrate: v1)
        migrator.registerMigration("v2-year-rollover", migrate: v2YearRollover)
        migrator.registerMigration("v3-settlement", migrate: v3Settlement)
        migrator.registerMigration("v4-binding-end-and-uploaders", migrate: v4BindingEndAndUploaders)
        migrator.registerMigration("v5-no-payment-list-indexes", migrate: v5NoPaymentListIndexes)
        migrator.registerMigration("v6-binding-relationship-vocabulary", migrate: v6BindingRelationshipVocabulary)
        migrator.registerMigration("v7-event-journal", migrate: v7EventJournal)
        migrator.registerMigration("v8-wallet", migrate: v8Wallet)
        return migrator
    }

    private static func v1(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE person (
                  id_number TEXT PRIMARY KEY CHECK (length(id_number) = 18),
                  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
                  insurance_type TEXT NOT NULL CHECK (insurance_type IN ('employee', 'resident', 'none')),
                  status TEXT NOT NULL CHECK (status IN ('normal', 'suspended', 'terminated')),
                  region_code INTEGER NOT NULL CHECK (region_code BETWEEN 100000 AND 999999),
                  special_category TEXT CHECK (special_category IS NULL OR length(special_category) BETWEEN 1 AND 64),
                  updated_at INTEGER NOT NULL
                ) STRICT;

                -- Resident premium years paid outside Gongji, as reported by the platform.
                CREATE TABLE person_paid_year (
                  id_number TEXT NOT NULL REFERENCES person(id_number) ON DELETE CASCADE,
                  year INTEGER NOT NULL CHECK (year BETWEEN 2000 AND 2200),
                  PRIMARY KEY (id_number, year)
                ) STRICT, WITHOUT ROWID;

                CREATE TABLE account (
                  id_number TEXT PRIMARY KEY REFERENCES person(id_number),
                  year INTEGER NOT NULL CHECK (year BETWEEN 2000 AND 2200),
                  current_year_fen INTEGER NOT NULL CHECK (current_year_fen >= 0),
                  carry_over_fen INTEGER NOT NULL CHECK (carry_over_fen >= 0)
                ) STRICT;

                -- Credits from the platform, each reference applied at most once.
                CREATE TABLE account_credit (
                  reference TEXT PRIMARY KEY CHECK (length(reference) BETWEEN 1 AND 64),
                  id_number TEXT NOT NULL REFERENCES person(id_number),
                  amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
                  created_at INTEGER NOT NULL
                ) STRICT;

                CREATE TABLE document (
                  id TEXT PRIMARY KEY CHECK (length(id) = 64),
                  side TEXT NOT NULL CHECK (side IN ('front', 'back')),
                  media_type TEXT NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png')),
                  size_bytes INTEGER NOT NULL CHECK (size_bytes > 0),
                  uploaded_by TEXT NOT NULL,
                  uploaded_at INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX document_uploaded_at ON document(uploaded_at);

                CREATE TABLE binding (
                  seq INTEGER PRIMARY KEY,
                  id TEXT NOT NULL UNIQUE,
                  authorizer TEXT NOT NULL REFERENCES person(id_number),
                  member TEXT NOT NULL REFERENCES person(id_number),
                  member_name TEXT NOT NULL,
                  relationship TEXT NOT NULL CHECK (relationship IN ('spouse', 'parent', 'child')),
                  region_code INTEGER NOT NULL,
                  start_date TEXT NOT NULL CHECK (length(start_date) = 10),
                  status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'rejected', 'revoked')),
                  newborn INTEGER NOT NULL CHECK (newborn IN (0, 1)),
                  commitment_version TEXT,
                  commitment_accepted_at INTEGER,
                  front_document TEXT REFERENCES document(id),
                  back_document TEXT REFERENCES document(id),
                  rejection_reason TEXT,
                  created_at INTEGER NOT NULL,
                  updated_at INTEGER NOT NULL,
                  CHECK (authorizer <> member),
                  CHECK (status <> 'rejected' OR rejection_reason IS NOT NULL)
                ) STRICT;
                -- R-BIND-3: at most one open binding per pair, also under concurrency.
                CREATE UNIQUE INDEX binding_open_pair ON binding(authorizer, member) WHERE status IN ('pending', 'active');
                CREATE INDEX binding_by_authorizer ON binding(authorizer, seq);
                CREATE INDEX binding_by_member ON binding(member, seq);
                CREATE INDEX binding_pending ON binding(status, region_code, seq);

                -- Who changed a binding, and when (certificate identity, end user, request id).
                CREATE TABLE binding_event (
                  seq INTEGER PRIMARY KEY,
                  binding_id TEXT NOT NULL REFERENCES binding(id),
                  status TEXT NOT NULL,
                  certificate_identity TEXT NOT NULL,
                  end_user TEXT,
                  request_id TEXT,
                  reason TEXT,
                  at INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX binding_event_by_binding ON binding_event(binding_id, seq);

                CREATE TABLE payment (
                  seq INTEGER PRIMARY KEY,
                  id TEXT NOT NULL UNIQUE,
                  binding_id TEXT NOT NULL REFERENCES binding(id),
                  authorizer TEXT NOT NULL REFERENCES person(id_number),
                  member TEXT NOT NULL REFERENCES person(id_number),
                  member_name TEXT NOT NULL,
                  authorizer_name TEXT NOT NULL,
                  region_code INTEGER NOT NULL,
                  total_fen INTEGER NOT NULL CHECK (total_fen >= 0),
                  account_fen INTEGER NOT NULL CHECK (account_fen >= 0),
                  external_fen INTEGER NOT NULL CHECK (external_fen >= 0),
                  external_reference TEXT,
                  receipt_number TEXT NOT NULL UNIQUE,
                  verification_code TEXT NOT NULL,
                  enrolled_member INTEGER NOT NULL CHECK (enrolled_member IN (0, 1)),
                  created_at INTEGER NOT NULL,
                  CHECK (account_fen + external_fen = total_fen),
                  CHECK (external_fen = 0 OR external_reference IS NOT NULL)
                ) STRICT;
                CREATE INDEX payment_by_authorizer ON payment(authorizer, seq);
                CREATE INDEX payment_by_member ON payment(member, seq);

                -- R-PAY-8: a member-year is paid at most once, enforced by the schema too.
                CREATE TABLE payment_year (
                  payment_id TEXT NOT NULL REFERENCES payment(id),
                  member TEXT NOT NULL,
                  year INTEGER NOT NULL,
                  amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),
                  category TEXT,
                  late INTEGER NOT NULL CHECK (late IN (0, 1)),
                  benefit_start TEXT,
                  PRIMARY KEY (payment_id, year),
                  UNIQUE (member, year)
                ) STRICT;

                CREATE TABLE payment_posting (
                  payment_id TEXT NOT NULL REFERENCES payment(id),
                  part TEXT NOT NULL CHECK (part IN ('current_year', 'carry_over')),
                  amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
                  PRIMARY KEY (payment_id, part)
                ) STRICT;

                -- Double-entry ledger: every movement is a set of entries summing to zero. Accounts
                -- are named 'person:<id>:current_year', 'person:<id>:carry_over',
                -- 'region:<code>:premium_collection', 'platform:funding', 'external:<region>'.
                CREATE TABLE ledger_entry (
                  seq INTEGER PRIMARY KEY,
                  movement TEXT NOT NULL,
                  account TEXT NOT NULL,
                  amount_fen INTEGER NOT NULL CHECK (amount_fen <> 0),
                  at INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX ledger_by_movement ON ledger_entry(movement);
                CREATE INDEX ledger_by_account ON ledger_entry(account);
                CREATE TRIGGER ledger_entry_immutable_update BEFORE UPDATE ON ledger_entry
                  BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable'); END;
                CREATE TRIGGER ledger_entry_immutable_delete BEFORE DELETE ON ledger_entry
                  BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable'); END;

                -- Mutations by request_id: the same id with the same content returns the first result.
                CREATE TABLE idempotency (
                  scope TEXT NOT NULL,
                  request_id TEXT NOT NULL,
                  fingerprint BLOB NOT NULL,
                  result TEXT NOT NULL,
                  created_at INTEGER NOT NULL,
                  PRIMARY KEY (scope, request_id)
                ) STRICT, WITHOUT ROWID;

                -- Operators' run-time availability switch per region (R-SUSP-1); overrides the policy file.
                CREATE TABLE region_availability (
                  region_code INTEGER PRIMARY KEY,
                  suspended INTEGER NOT NULL CHECK (suspended IN (0, 1)),
                  updated_at INTEGER NOT NULL
                ) STRICT;
                """)
    }

    /// R-ACCT-2: each year-end rollover is recorded, so that the next one can only go into the
    /// year after it.
    private static func v2YearRollover(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE year_rollover (
                  year INTEGER PRIMARY KEY CHECK (year BETWEEN 2000 AND 2200),
                  accounts INTEGER NOT NULL CHECK (accounts >= 0),
                  at INTEGER NOT NULL
                ) STRICT;
                """)
    }

    /// Settlement at designated institutions (R-SETL-*): institutions, settlements with their
    /// postings, a binding's annual limit for medical use, and one journal of account uses
    /// (premiums, settlements, reversals) that the deduction lists page through.
    private static func v3Settlement(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE binding ADD COLUMN medical_limit_fen INTEGER CHECK (medical_limit_fen IS NULL OR medical_limit_fen >= 0);

                CREATE TABLE institution (
                  code TEXT PRIMARY KEY CHECK (length(code) = 12 AND substr(code, 1, 1) IN ('H', 'P')),
                  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
                  kind TEXT NOT NULL CHECK (kind IN ('hospital', 'pharmacy')),
                  region_code INTEGER NOT NULL CHECK (region_code BETWEEN 100000 AND 999999),
                  valid_from TEXT NOT NULL,
                  valid_to TEXT,
                  updated_at INTEGER NOT NULL,
                  CHECK ((kind = 'hospital') = (substr(code, 1, 1) = 'H'))
                ) STRICT;

                CREATE TABLE settlement (
                  seq INTEGER PRIMARY KEY,
                  institution_code TEXT NOT NULL REFERENCES institution(code),
                  settlement_id TEXT NOT NULL CHECK (length(settlement_id) BETWEEN 1 AND 64),
                  region_code INTEGER NOT NULL,
                  patient TEXT NOT NULL REFERENCES person(id_number),
                  patient_name TEXT NOT NULL,
                  amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
                  acct_pay_fen INTEGER NOT NULL CHECK (acct_pay_fen >= 0),
                  acct_mulaid_pay_fen INTEGER NOT NULL CHECK (acct_mulaid_pay_fen >= 0),
                  cash_fen INTEGER NOT NULL CHECK (cash_fen >= 0),
                  family TEXT NOT NULL,
                  family_zero_note TEXT,
                  status TEXT NOT NULL CHECK (status IN ('settled', 'reversed')),
                  settled_at INTEGER NOT NULL,
                  settled_on TEXT NOT NULL,
                  reversed_at INTEGER,
                  reversed_on TEXT,
                  UNIQUE (institution_code, settlement_id),
                  CHECK (acct_pay_fen + acct_mulaid_pay_fen + cash_fen = amount_fen),
                  CHECK ((status = 'reversed') = (reversed_at IS NOT NULL))
                ) STRICT;
                CREATE INDEX settlement_by_day ON settlement(institution_code, settled_on);
                CREATE INDEX settlement_by_region_day ON settlement(region_code, settled_on);
                CREATE INDEX settlement_by_reversal_day ON settlement(region_code, reversed_on) WHERE reversed_on IS NOT NULL;

                CREATE TABLE settlement_posting (
                  settlement_seq INTEGER NOT NULL REFERENCES settlement(seq),
                  position INTEGER NOT NULL,
                  owner TEXT NOT NULL REFERENCES person(id_number),
                  part TEXT NOT NULL CHECK (part IN ('current_year', 'carry_over')),
                  amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
                  binding_id TEXT REFERENCES binding(id),
                  account_year INTEGER NOT NULL,
                  settled_year INTEGER NOT NULL,
                  PRIMARY KEY (settlement_seq, position)
                ) STRICT, WITHOUT ROWID;
                CREATE INDEX settlement_posting_by_binding ON settlement_posting(binding_id, settled_year) WHERE binding_id IS NOT NULL;

                -- Every use of a personal account, newest last: what the deduction lists show.
                CREATE TABLE account_use (
                  seq INTEGER PRIMARY KEY,
                  kind TEXT NOT NULL CHECK (kind IN ('premium', 'settlement', 'reversal')),
                  account_owner TEXT NOT NULL,
                  member TEXT NOT NULL,
                  member_name TEXT NOT NULL,
                  amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),
                  payment_id TEXT REFERENCES payment(id),
                  settlement_seq INTEGER REFERENCES settlement(seq),
                  at INTEGER NOT NULL,
                  CHECK ((kind = 'premium') = (payment_id IS NOT NULL))
                ) STRICT;
                CREATE INDEX account_use_by_owner ON account_use(account_owner, seq);
                CREATE INDEX account_use_by_member ON account_use(member, seq);
                INSERT INTO account_use (kind, account_owner, member, member_name, amount_fen, payment_id, at)
                  SELECT 'premium', authorizer, member, member_name, account_fen, id, created_at FROM payment ORDER BY seq;
                """)
    }

    /// R-BIND-10/11: who ended a binding and why; R-DOC-5: every uploader of the same bytes, each
    /// with the time of his or her upload (retention counts per uploader).
    private static func v4BindingEndAndUploaders(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE binding ADD COLUMN ended_by TEXT CHECK (ended_by IS NULL OR ended_by IN ('authorizer', 'member', 'registry'));
                ALTER TABLE binding ADD COLUMN end_reason TEXT;
                UPDATE binding SET ended_by = 'authorizer' WHERE status = 'revoked';

                CREATE TABLE document_uploader (
                  document_id TEXT NOT NULL REFERENCES document(id) ON DELETE CASCADE,
                  uploader TEXT NOT NULL,
                  uploaded_at INTEGER NOT NULL,
                  PRIMARY KEY (document_id, uploader)
                ) STRICT, WITHOUT ROWID;
                CREATE INDEX document_uploader_by_time ON document_uploader(uploaded_at);
                INSERT INTO document_uploader (document_id, uploader, uploaded_at) SELECT id, uploaded_by, uploaded_at FROM document;
                """)
    }

    /// The deduction lists page through `account_use` (settlements and premiums alike), so nothing
    /// reads payments by authorizer or by member any more; each of those indexes cost a payment a
    /// B-tree page at a random position, written to the log and again by the checkpoint
    /// (measured: ~10% of a payment's server CPU).
    private static func v5NoPaymentListIndexes(_ db: Database) throws {
        try db.execute(
            sql: """
                DROP INDEX payment_by_authorizer;
                DROP INDEX payment_by_member;
                """)
    }

    /// R-BIND-2a: which relationships a region allows is policy, so the schema only checks that a
    /// binding's relationship is one the vocabulary knows (v1 allowed spouse, parent and child
    /// alone, and a sibling allowed by policy failed its CHECK). SQLite cannot change a CHECK: the
    /// table is made anew and its rows copied (GRDB runs a migration with foreign keys off and
    /// checks them before it commits), then its indexes are made again.
    private static func v6BindingRelationshipVocabulary(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE binding_v6 (
                  seq INTEGER PRIMARY KEY,
                  id TEXT NOT NULL UNIQUE,
                  authorizer TEXT NOT NULL REFERENCES person(id_number),
                  member TEXT NOT NULL REFERENCES person(id_number),
                  member_name TEXT NOT NULL,
                  relationship TEXT NOT NULL CHECK (relationship IN ('spouse', 'parent', 'child', 'grandparent', 'grandchild', 'sibling')),
                  region_code INTEGER NOT NULL,
                  start_date TEXT NOT NULL CHECK (length(start_date) = 10),
                  status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'rejected', 'revoked')),
                  newborn INTEGER NOT NULL CHECK (newborn IN (0, 1)),
                  commitment_version TEXT,
                  commitment_accepted_at INTEGER,
                  front_document TEXT REFERENCES document(id),
                  back_document TEXT REFERENCES document(id),
                  rejection_reason TEXT,
                  created_at INTEGER NOT NULL,
                  updated_at INTEGER NOT NULL,
                  medical_limit_fen INTEGER CHECK (medical_limit_fen IS NULL OR medical_limit_fen >= 0),
                  ended_by TEXT CHECK (ended_by IS NULL OR ended_by IN ('authorizer', 'member', 'registry')),
                  end_reason TEXT,
                  CHECK (authorizer <> member),
                  CHECK (status <> 'rejected' OR rejection_reason IS NOT NULL)
                ) STRICT;
                INSERT INTO binding_v6 (seq, id, authorizer, member, member_name, relationship, region_code, start_date, status, newborn,
                  commitment_version, commitment_accepted_at, front_document, back_document, rejection_reason, created_at, updated_at,
                  medical_limit_fen, ended_by, end_reason)
                SELECT seq, id, authorizer, member, member_name, relationship, region_code, start_date, status, newborn,
                  commitment_version, commitment_accepted_at, front_document, back_document, rejection_reason, created_at, updated_at,
                  medical_limit_fen, ended_by, end_reason
                FROM binding;
                DROP TABLE binding;
                ALTER TABLE binding_v6 RENAME TO binding;
                CREATE UNIQUE INDEX binding_open_pair ON binding(authorizer, member) WHERE status IN ('pending', 'active');
                CREATE INDEX binding_by_authorizer ON binding(authorizer, seq);
                CREATE INDEX binding_by_member ON binding(member, seq);
                CREATE INDEX binding_pending ON binding(status, region_code, seq);
                """)
    }

    /// R-EVT-1: the event journal, append-only, written by the same transaction as the change it
    /// records. One writer: positions (AUTOINCREMENT, never reused after the retention clean-up)
    /// are in commit order. `event_retention` remembers the newest position the clean-up removed,
    /// so that a follower's position that is gone can be told from a gap.
    private static func v7EventJournal(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE event (
                  seq INTEGER PRIMARY KEY AUTOINCREMENT,
                  kind TEXT NOT NULL CHECK (kind IN ('premium_paid', 'settled', 'settlement_reversed', 'binding_created',
                    'binding_approved', 'binding_rejected', 'binding_ended', 'limit_changed', 'family_use_frozen', 'family_use_unfrozen')),
                  at INTEGER NOT NULL,
                  authorizer TEXT NOT NULL CHECK (length(authorizer) = 18),
                  member TEXT NOT NULL CHECK (length(member) = 18),
                  member_name_masked TEXT NOT NULL,
                  binding_id TEXT,
                  amount_fen INTEGER CHECK (amount_fen IS NULL OR amount_fen >= 0),
                  parts TEXT NOT NULL,
                  institution_code TEXT,
                  institution_name TEXT,
                  institution_kind TEXT CHECK (institution_kind IS NULL OR institution_kind IN ('hospital', 'pharmacy')),
                  balance_after_fen INTEGER,
                  reference TEXT
                ) STRICT;
                CREATE INDEX event_by_authorizer ON event(authorizer, seq);
                CREATE INDEX event_by_member ON event(member, seq);
                CREATE INDEX event_by_time ON event(at);
                CREATE TRIGGER event_never_changes BEFORE UPDATE ON event
                BEGIN SELECT RAISE(ABORT, 'events are never changed'); END;
                CREATE TABLE event_retention (
                  id INTEGER PRIMARY KEY CHECK (id = 1),
                  removed_through INTEGER NOT NULL
                ) STRICT;
                INSERT INTO event_retention (id, removed_through) VALUES (1, 0);
                -- R-CTL-1: the authorizer froze family use through the binding.
                ALTER TABLE binding ADD COLUMN frozen INTEGER NOT NULL DEFAULT 0 CHECK (frozen IN (0, 1));
                -- R-CTL-2: the limits per settlement and per day on family use.
                ALTER TABLE binding ADD COLUMN settlement_limit_fen INTEGER CHECK (settlement_limit_fen IS NULL OR settlement_limit_fen >= 0);
                ALTER TABLE binding ADD COLUMN daily_limit_fen INTEGER CHECK (daily_limit_fen IS NULL OR daily_limit_fen >= 0);
                """)
    }

    /// R-XP-*: the members' wallets, their transfers and holdings; the journal takes the wallet's
    /// event kinds (the event table is rebuilt for its CHECK, keeping every position and the
    /// AUTOINCREMENT high-water mark, so no position is ever given twice).
    private static func v8Wallet(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE event_v8 (
                  seq INTEGER PRIMARY KEY AUTOINCREMENT,
                  kind TEXT NOT NULL CHECK (kind IN ('premium_paid', 'settled', 'settlement_reversed', 'binding_created',
                    'binding_approved', 'binding_rejected', 'binding_ended', 'limit_changed', 'family_use_frozen', 'family_use_unfrozen',
                    'wallet_transfer_sent', 'wallet_transfer_accepted', 'wallet_transfer_declined', 'wallet_transfer_returned',
                    'wallet_returned')),
                  at INTEGER NOT NULL,
                  authorizer TEXT NOT NULL CHECK (length(authorizer) = 18),
                  member TEXT NOT NULL CHECK (length(member) = 18),
                  member_name_masked TEXT NOT NULL,
                  binding_id TEXT,
                  amount_fen INTEGER CHECK (amount_fen IS NULL OR amount_fen >= 0),
                  parts TEXT NOT NULL,
                  institution_code TEXT,
                  institution_name TEXT,
                  institution_kind TEXT CHECK (institution_kind IS NULL OR institution_kind IN ('hospital', 'pharmacy')),
                  balance_after_fen INTEGER,
                  reference TEXT
                ) STRICT;
                INSERT INTO event_v8 SELECT * FROM event ORDER BY seq;
                DELETE FROM sqlite_sequence WHERE name = 'event_v8';
                INSERT INTO sqlite_sequence (name, seq) SELECT 'event_v8', seq FROM sqlite_sequence WHERE name = 'event';
                DROP TABLE event;
                ALTER TABLE event_v8 RENAME TO event;
                CREATE INDEX event_by_authorizer ON event(authorizer, seq);
                CREATE INDEX event_by_member ON event(member, seq);
                CREATE INDEX event_by_time ON event(at);
                CREATE TRIGGER event_never_changes BEFORE UPDATE ON event
                BEGIN SELECT RAISE(ABORT, 'events are never changed'); END;

                CREATE TABLE wallet (
                  member TEXT PRIMARY KEY CHECK (length(member) = 18),
                  province INTEGER NOT NULL CHECK (province BETWEEN 100000 AND 999999),
                  opened_at INTEGER NOT NULL
                ) STRICT;
                CREATE TABLE wallet_transfer (
                  seq INTEGER PRIMARY KEY,
                  id TEXT NOT NULL UNIQUE,
                  binding_id TEXT NOT NULL REFERENCES binding(id),
                  authorizer TEXT NOT NULL CHECK (length(authorizer) = 18),
                  member TEXT NOT NULL REFERENCES wallet(member),
                  member_name TEXT NOT NULL,
                  current_year_fen INTEGER NOT NULL CHECK (current_year_fen >= 0),
                  carry_over_fen INTEGER NOT NULL CHECK (carry_over_fen >= 0),
                  account_year INTEGER NOT NULL,
                  from_province INTEGER NOT NULL,
                  to_province INTEGER NOT NULL,
                  status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'returned')),
                  sent_on TEXT NOT NULL,
                  sent_at INTEGER NOT NULL,
                  return_due_at INTEGER NOT NULL,
                  resolved_at INTEGER,
                  CHECK (current_year_fen + carry_over_fen > 0),
                  CHECK ((status = 'pending') = (resolved_at IS NULL))
                ) STRICT;
                CREATE INDEX wallet_transfer_by_authorizer ON wallet_transfer(authorizer, seq);
                CREATE INDEX wallet_transfer_by_member ON wallet_transfer(member, seq);
                CREATE INDEX wallet_transfer_by_day ON wallet_transfer(authorizer, sent_on);
                CREATE INDEX wallet_transfer_due ON wallet_transfer(return_due_at) WHERE status = 'pending';
                CREATE INDEX wallet_transfer_pending_by_binding ON wallet_transfer(binding_id) WHERE status = 'pending';
                CREATE TABLE wallet_holding (
                  binding_id TEXT PRIMARY KEY REFERENCES binding(id),
                  member TEXT NOT NULL REFERENCES wallet(member),
                  authorizer TEXT NOT NULL CHECK (length(authorizer) = 18),
                  current_year_fen INTEGER NOT NULL CHECK (current_year_fen >= 0),
                  carry_over_fen INTEGER NOT NULL CHECK (carry_over_fen >= 0),
                  from_province INTEGER,
                  to_province INTEGER,
                  updated_at INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX wallet_holding_by_member ON wallet_holding(member);
                -- R-XP-7: wallet money moved between two provinces' funds, as clearing counts it.
                CREATE TABLE wallet_movement (
                  seq INTEGER PRIMARY KEY,
                  kind TEXT NOT NULL CHECK (kind IN ('granted', 'spent', 'reversed', 'returned')),
                  from_province INTEGER NOT NULL,
                  to_province INTEGER NOT NULL,
                  amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
                  binding_id TEXT NOT NULL,
                  reference TEXT NOT NULL,
                  at INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX wallet_movement_by_time ON wallet_movement(at);
                CREATE TRIGGER wallet_movement_never_changes BEFORE UPDATE ON wallet_movement
                BEGIN SELECT RAISE(ABORT, 'wallet movements are never changed'); END;
                -- R-XP-5: a settlement's posting paid from what a wallet holds through the binding.
                ALTER TABLE settlement_posting ADD COLUMN from_wallet INTEGER NOT NULL DEFAULT 0 CHECK (from_wallet IN (0, 1));
                ALTER TABLE payment ADD COLUMN from_wallet INTEGER NOT NULL DEFAULT 0 CHECK (from_wallet IN (0, 1));
                -- R-LTC-1: the premium's kind; a member's year is paid once per kind (payment_year rebuilt for its UNIQUE).
                ALTER TABLE payment ADD COLUMN kind TEXT NOT NULL DEFAULT 'resident' CHECK (kind IN ('resident', 'long_term_care'));
                CREATE TABLE payment_year_v8 (
                  payment_id TEXT NOT NULL REFERENCES payment(id),
                  member TEXT NOT NULL,
                  year INTEGER NOT NULL,
                  amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),
                  category TEXT,
                  late INTEGER NOT NULL CHECK (late IN (0, 1)),
                  benefit_start TEXT,
                  kind TEXT NOT NULL DEFAULT 'resident' CHECK (kind IN ('resident', 'long_term_care')),
                  PRIMARY KEY (payment_id, year),
                  UNIQUE (member, year, kind)
                ) STRICT;
                INSERT INTO payment_year_v8 (payment_id, member, year, amount_fen, category, late, benefit_start, kind)
                  SELECT payment_id, member, year, amount_fen, category, late, benefit_start, 'resident' FROM payment_year;
                DROP TABLE payment_year;
                ALTER TABLE payment_year_v8 RENAME TO payment_year;
                -- The deduction lists carry the wallet's steps (R-XP, R-SETL-9 style): account_use rebuilt for its CHECK.
                CREATE TABLE account_use_v8 (
                  seq INTEGER PRIMARY KEY,
                  kind TEXT NOT NULL CHECK (kind IN ('premium', 'settlement', 'reversal', 'wallet_transfer', 'wallet_transfer_accepted',
                    'wallet_transfer_declined', 'wallet_returned')),
                  account_owner TEXT NOT NULL,
                  member TEXT NOT NULL,
                  member_name TEXT NOT NULL,
                  amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),
                  payment_id TEXT REFERENCES payment(id),
                  settlement_seq INTEGER REFERENCES settlement(seq),
                  at INTEGER NOT NULL,
                  reference TEXT,
                  CHECK ((kind = 'premium') = (payment_id IS NOT NULL))
                ) STRICT;
                INSERT INTO account_use_v8 (seq, kind, account_owner, member, member_name, amount_fen, payment_id, settlement_seq, at)
                  SELECT seq, kind, account_owner, member, member_name, amount_fen, payment_id, settlement_seq, at FROM account_use;
                DROP TABLE account_use;
                ALTER TABLE account_use_v8 RENAME TO account_use;
                CREATE INDEX account_use_by_owner ON account_use(account_owner, seq);
                CREATE INDEX account_use_by_member ON account_use(member, seq);
                """)
    }
}
