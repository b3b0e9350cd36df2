"""gongji.v1.SettlementService over mutual TLS with a client generated from proto/: pre-settle,
settle exactly once, the patient's own credential, reversal once, reconciliation, the operators'
institutions and totals, a binding's medical limit, the deduction lists, and the role boundaries."""
import grpc
import pytest

from conftest import expect_error, make_id, request_id, user
from test_contract import JPEG, PNG, upload

HOSPITAL = "H15010000001"   # seeded by gongjid dev
PHARMACY = "P34050000002"
AUTHORIZER = make_id("150102", "19850505", 777)
PATIENT = make_id("150102", "20150505", 778)


@pytest.fixture(scope="module")
def family(daemon, pb):
    """A Hohhot authorizer with 500.00 and a child bound to him, registered for this module."""
    reg, c, b = pb["registry"], pb["common"], pb["binding"]
    operator = daemon.channel("operator")
    gateway = daemon.channel("gateway")
    registry = pb["registry_grpc"].RegistryServiceStub(operator)
    registry.UpsertPerson(reg.UpsertPersonRequest(request_id=request_id(), person=reg.Person(
        id_number=AUTHORIZER, name="赵大伟", insurance_type=c.INSURANCE_TYPE_EMPLOYEE, status=c.INSURANCE_STATUS_NORMAL,
        region_code="150100")))
    registry.UpsertPerson(reg.UpsertPersonRequest(request_id=request_id(), person=reg.Person(
        id_number=PATIENT, name="赵小伟", insurance_type=c.INSURANCE_TYPE_RESIDENT, status=c.INSURANCE_STATUS_NORMAL,
        region_code="150100")))
    registry.CreditAccount(reg.CreditAccountRequest(request_id=request_id(), id_number=AUTHORIZER, amount_fen=50000,
                                                    reference="SETTLE-" + request_id()))

    class Stubs:
        documents = pb["document_grpc"].DocumentServiceStub(gateway)
    front = upload(Stubs, pb, JPEG, c.DOCUMENT_SIDE_FRONT, AUTHORIZER)
    back = upload(Stubs, pb, PNG, c.DOCUMENT_SIDE_BACK, AUTHORIZER)
    binding = pb["binding_grpc"].BindingServiceStub(gateway).CreateBinding(b.CreateBindingRequest(
        request_id=request_id(), member_name="赵小伟", member_id_number=PATIENT, relationship=c.RELATIONSHIP_CHILD,
        start_date=daemon.today.isoformat(), commitment=b.Commitment(version="hohhot-2024-09", accept_time={"seconds": 1700000000}),
        front_document_id=front.document_id, back_document_id=back.document_id), metadata=user(AUTHORIZER)).binding
    yield binding
    operator.close()
    gateway.close()


@pytest.fixture(scope="module")
def settlement(daemon, pb):
    channel = daemon.channel("settlement")
    yield pb["settlement_grpc"].SettlementServiceStub(channel)
    channel.close()


def settle_request(pb, settlement_id, amount, holder=PATIENT, institution=HOSPITAL):
    s = pb["settlement"]
    return s.SettleRequest(institution_code=institution, settlement_id=settlement_id, patient_id_number=PATIENT,
                           credential=s.Credential(type=s.CREDENTIAL_TYPE_ELECTRONIC_VOUCHER, holder_id_number=holder),
                           amount_fen=amount)


def account(daemon, pb):
    channel = daemon.channel("operator")
    try:
        return pb["registry_grpc"].RegistryServiceStub(channel).GetPerson(pb["registry"].GetPersonRequest(id_number=AUTHORIZER)).account
    finally:
        channel.close()


def test_pre_settle_settle_retry_and_reuse(daemon, pb, family, settlement):
    s = pb["settlement"]
    split = settlement.PreSettle(s.PreSettleRequest(institution_code=HOSPITAL, patient_id_number=PATIENT, amount_fen=12000,
                                                    credential=s.Credential(type=s.CREDENTIAL_TYPE_ID_CARD, holder_id_number=PATIENT))).split
    assert (split.acct_pay, split.acct_mulaid_pay, split.psn_cash_pay) == (0, 12000, 0)
    assert [f.binding_id for f in split.family] == [family.binding_id]
    settled = settlement.Settle(settle_request(pb, "PY-1", 12000)).settlement
    assert settled.status == s.SETTLEMENT_STATUS_SETTLED and settled.split.acct_mulaid_pay == 12000
    assert settled.institution.kind == s.INSTITUTION_KIND_HOSPITAL and settled.patient_name == "赵小伟"
    assert settlement.Settle(settle_request(pb, "PY-1", 12000)).settlement == settled, "a retry returns the original"
    expect_error(lambda: settlement.Settle(settle_request(pb, "PY-1", 11000)), grpc.StatusCode.ALREADY_EXISTS, "SETTLEMENT_ID_REUSED")
    expect_error(lambda: settlement.Settle(settle_request(pb, "PY-2", 100, holder=AUTHORIZER)),
                 grpc.StatusCode.PERMISSION_DENIED, "CREDENTIAL_NOT_PATIENTS_OWN")
    expect_error(lambda: settlement.Settle(settle_request(pb, "PY-3", 100, institution="H99999999999")),
                 grpc.StatusCode.NOT_FOUND, "INSTITUTION_NOT_FOUND")
    got = settlement.GetSettlement(s.GetSettlementRequest(institution_code=HOSPITAL, settlement_id="PY-1")).settlement
    assert got == settled
    assert account(daemon, pb).current_year_fen + account(daemon, pb).carry_over_fen == 50000 - 12000


def test_reverse_once_and_reconcile(daemon, pb, family, settlement):
    s = pb["settlement"]
    settlement.Settle(settle_request(pb, "PY-R", 3000))
    before = account(daemon, pb)
    first = settlement.ReverseSettlement(s.ReverseSettlementRequest(institution_code=HOSPITAL, settlement_id="PY-R")).settlement
    second = settlement.ReverseSettlement(s.ReverseSettlementRequest(institution_code=HOSPITAL, settlement_id="PY-R")).settlement
    assert first.status == s.SETTLEMENT_STATUS_REVERSED and first == second
    after = account(daemon, pb)
    assert after.current_year_fen + after.carry_over_fen == before.current_year_fen + before.carry_over_fen + 3000
    expect_error(lambda: settlement.ReverseSettlement(s.ReverseSettlementRequest(institution_code=HOSPITAL, settlement_id="nope")),
                 grpc.StatusCode.NOT_FOUND, "SETTLEMENT_NOT_FOUND")

    def messages():
        yield s.ReconcileSettlementsRequest(header=s.ReconciliationHeader(institution_code=HOSPITAL, date=daemon.today.isoformat()))
        yield s.ReconcileSettlementsRequest(entries=s.ReconciliationEntries(entries=[
            s.ReconciliationEntry(settlement_id="PY-R", acct_mulaid_pay=3000, reversed=True),
            s.ReconciliationEntry(settlement_id="ONLY-HERE", acct_mulaid_pay=1)]))
    report = settlement.ReconcileSettlements(messages())
    assert report.totals.reversed_count >= 1
    kinds = {d.settlement_id: d.kind for d in report.differences}
    assert kinds["ONLY-HERE"] == s.RECONCILIATION_DIFFERENCE_KIND_ONLY_INSTITUTION
    assert "PY-R" not in kinds
    operator = daemon.channel("operator")
    totals = pb["operations_grpc"].OperationsServiceStub(operator).GetSettlementTotals(
        pb["operations"].GetSettlementTotalsRequest(region_code="150100", date=daemon.today.isoformat())).totals
    operator.close()
    assert totals.settled_count >= 2 and totals.reversed_count >= 1


def test_medical_limit_and_deduction_lists(daemon, pb, family, settlement):
    b, p, s = pb["binding"], pb["premium"], pb["settlement"]
    gateway = daemon.channel("gateway")
    bindings = pb["binding_grpc"].BindingServiceStub(gateway)
    capped = bindings.SetBindingMedicalLimit(b.SetBindingMedicalLimitRequest(request_id=request_id(), binding_id=family.binding_id,
                                                                             annual_limit_fen=0), metadata=user(AUTHORIZER)).binding
    assert capped.HasField("medical_limit_fen") and capped.medical_limit_fen == 0
    none = settlement.Settle(settle_request(pb, "PY-L", 500)).settlement
    assert none.split.acct_mulaid_pay == 0 and none.split.family_zero_note == s.FAMILY_FUND_NOTE_LIMIT_REACHED
    cleared = bindings.SetBindingMedicalLimit(b.SetBindingMedicalLimitRequest(request_id=request_id(), binding_id=family.binding_id),
                                              metadata=user(AUTHORIZER)).binding
    assert not cleared.HasField("medical_limit_fen")
    premiums = pb["premium_grpc"].PremiumServiceStub(gateway)
    mine = premiums.ListAccountDeductions(p.ListAccountDeductionsRequest(page_size=2), metadata=user(AUTHORIZER))
    assert len(mine.uses) == 2 and mine.next_page_token
    assert all(u.institution_code == HOSPITAL and u.member_id_number == PATIENT for u in mine.uses)
    rest = premiums.ListAccountDeductions(p.ListAccountDeductionsRequest(page_token=mine.next_page_token), metadata=user(AUTHORIZER))
    kinds = [u.kind for u in list(mine.uses) + list(rest.uses)]
    assert kinds.count(p.ACCOUNT_USE_KIND_REVERSAL) == 1 and kinds.count(p.ACCOUNT_USE_KIND_SETTLEMENT) >= 2
    member = premiums.ListMemberPayments(p.ListMemberPaymentsRequest(), metadata=user(PATIENT))
    assert len(member.uses) == len(kinds)
    gateway.close()


def test_role_boundaries(daemon, pb, family):
    gateway = daemon.channel("gateway")
    as_gateway = pb["settlement_grpc"].SettlementServiceStub(gateway)
    expect_error(lambda: as_gateway.Settle(settle_request(pb, "PY-G", 100)), grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")
    gateway.close()
    channel = daemon.channel("settlement")
    premiums = pb["premium_grpc"].PremiumServiceStub(channel)
    expect_error(lambda: premiums.ListAccountDeductions(pb["premium"].ListAccountDeductionsRequest(), metadata=user(AUTHORIZER)),
                 grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")
    channel.close()


def test_second_daemon_on_the_same_database(daemon, pb, family, settlement):
    """`gongjid dev --postgresql` prints how to start a second daemon on its database: started so,
    it answers a retried settlement with the original (one movement), and stops cleanly."""
    if not daemon.postgresql:
        pytest.skip("the dev daemon keeps its data in SQLite (set GONGJI_CONTRACT_POSTGRESQL)")
    import os
    import signal
    import subprocess
    import time

    from conftest import Daemon

    s = pb["settlement"]
    binary = daemon.process.args[0]
    port_file = os.path.join(daemon.directory, "port-second")
    second = subprocess.Popen([binary, "run", "--config", os.path.join(daemon.directory, "gongjid.json5"), "--port-file", port_file],
                              env={**os.environ, "GONGJI_LISTEN_PORT": "0"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (os.path.exists(port_file) and open(port_file).read().strip()):
            assert second.poll() is None, "the second daemon exited"
            assert time.monotonic() < deadline, "the second daemon did not report its port"
            time.sleep(0.1)
        other = Daemon(daemon.directory, int(open(port_file).read()), second)
        channel = other.channel("settlement")
        on_second = pb["settlement_grpc"].SettlementServiceStub(channel)
        before = account(daemon, pb)
        first = settlement.Settle(settle_request(pb, "PY-2D", 700)).settlement
        retried = on_second.Settle(settle_request(pb, "PY-2D", 700)).settlement
        assert retried == first, "the second daemon answers the original"
        assert on_second.GetSettlement(s.GetSettlementRequest(institution_code=HOSPITAL, settlement_id="PY-2D")).settlement == first
        after = account(other, pb)
        assert after.current_year_fen + after.carry_over_fen == before.current_year_fen + before.carry_over_fen - 700, "moved once"
        channel.close()
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0, "the second daemon must stop cleanly on SIGTERM"
