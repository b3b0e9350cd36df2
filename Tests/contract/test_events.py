"""gongji.v1.EventService over mutual TLS (R-EVT-1, R-EVT-2, R-EVT-3): a binding and a settlement
become events that the authorizer's follower (the gateway), the member's and a notifier's see, in
position order, masked; a follower that reconnects after its last position gets nothing twice;
and the refusals a follower can meet."""
import queue
import threading

import grpc
import pytest

from conftest import expect_error, make_id, request_id, user
from test_contract import JPEG, PNG, upload

HOSPITAL = "H15010000001"   # seeded by gongjid dev
AUTHORIZER = make_id("150102", "19860606", 881)
PATIENT = make_id("150102", "20160606", 882)


class Follower:
    """A FollowEvents stream read on a thread into a queue."""

    def __init__(self, stub, request, metadata=()):
        self.call = stub.FollowEvents(request, metadata=metadata)
        self.events = queue.Queue()
        self.error = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for response in self.call:
                self.events.put(response.event)
        except grpc.RpcError as error:
            self.error = error

    def take(self, count, matching=lambda event: True, seconds=15):
        taken = []
        while len(taken) < count:
            event = self.events.get(timeout=seconds)
            if matching(event):
                taken.append(event)
        return taken

    def close(self):
        self.call.cancel()


@pytest.fixture(scope="module")
def stubs(daemon, pb):
    channels = {role: daemon.channel(role) for role in ["gateway", "operator", "notifier", "settlement"]}

    class Stubs:
        registry = pb["registry_grpc"].RegistryServiceStub(channels["operator"])
        documents = pb["document_grpc"].DocumentServiceStub(channels["gateway"])
        bindings = pb["binding_grpc"].BindingServiceStub(channels["gateway"])
        events = pb["event_grpc"].EventServiceStub(channels["gateway"])
        notifier = pb["event_grpc"].EventServiceStub(channels["notifier"])
        settlement = pb["settlement_grpc"].SettlementServiceStub(channels["settlement"])

    yield Stubs
    for channel in channels.values():
        channel.close()


def test_R_EVT_1_R_EVT_2_a_binding_and_a_settlement_reach_each_party_in_order(stubs, pb, daemon):
    reg, c, b, e, s = pb["registry"], pb["common"], pb["binding"], pb["event"], pb["settlement"]
    stubs.registry.UpsertPerson(reg.UpsertPersonRequest(request_id=request_id(), person=reg.Person(
        id_number=AUTHORIZER, name="钱大伟", insurance_type=c.INSURANCE_TYPE_EMPLOYEE, status=c.INSURANCE_STATUS_NORMAL,
        region_code="150100")))
    stubs.registry.UpsertPerson(reg.UpsertPersonRequest(request_id=request_id(), person=reg.Person(
        id_number=PATIENT, name="钱小伟", insurance_type=c.INSURANCE_TYPE_RESIDENT, status=c.INSURANCE_STATUS_NORMAL,
        region_code="150100")))
    stubs.registry.CreditAccount(reg.CreditAccountRequest(request_id=request_id(), id_number=AUTHORIZER, amount_fen=50000,
                                                          reference="EVENTS-" + request_id()))
    # Following from the start of the journal: the person's stream, the member's, and every event.
    authorizer = Follower(stubs.events, e.FollowEventsRequest(after_position=0), user(AUTHORIZER))
    member = Follower(stubs.events, e.FollowEventsRequest(after_position=0), user(PATIENT))
    everything = Follower(stubs.notifier, e.FollowEventsRequest(all=True))
    try:
        front = upload(stubs, pb, JPEG, c.DOCUMENT_SIDE_FRONT, AUTHORIZER)
        back = upload(stubs, pb, PNG, c.DOCUMENT_SIDE_BACK, AUTHORIZER)
        binding = stubs.bindings.CreateBinding(b.CreateBindingRequest(
            request_id=request_id(), member_name="钱小伟", member_id_number=PATIENT, relationship=c.RELATIONSHIP_CHILD,
            start_date=daemon.today.isoformat(), commitment=b.Commitment(version="hohhot-2024-09", accept_time={"seconds": 1700000000}),
            front_document_id=front.document_id, back_document_id=back.document_id), metadata=user(AUTHORIZER)).binding
        settled = stubs.settlement.Settle(s.SettleRequest(
            institution_code=HOSPITAL, settlement_id="EV-" + request_id()[:8], patient_id_number=PATIENT,
            credential=s.Credential(type=s.CREDENTIAL_TYPE_ELECTRONIC_VOUCHER, holder_id_number=PATIENT), amount_fen=12000))
        assert settled.settlement.split.acct_mulaid_pay == 12000

        mine = authorizer.take(2)
        assert [event.kind for event in mine] == [e.EVENT_KIND_BINDING_CREATED, e.EVENT_KIND_SETTLED]
        assert mine[0].position < mine[1].position
        created, paid = mine
        assert created.binding_id == binding.binding_id and created.party == e.EVENT_PARTY_AUTHORIZER
        assert paid.amount_fen == 12000 and paid.balance_after_fen == 50000 - 12000
        assert paid.institution_code == HOSPITAL and paid.institution_kind == s.INSTITUTION_KIND_HOSPITAL and paid.institution_name
        assert paid.member_name_masked == "钱**" and paid.parts == [c.BALANCE_PART_CURRENT_YEAR]
        assert paid.reference == settled.settlement.settlement_id
        for event in mine:
            text = str(event)
            assert AUTHORIZER not in text and PATIENT not in text, "no full ID number leaves the daemon"
            assert event.authorizer_id_number_masked == AUTHORIZER[:4] + "*" * 10 + AUTHORIZER[-4:]

        theirs = member.take(2)
        assert [event.position for event in theirs] == [event.position for event in mine]
        assert all(event.party == e.EVENT_PARTY_MEMBER for event in theirs)
        assert not theirs[1].HasField("balance_after_fen"), "the member does not see the authorizer's balance"

        positions = {event.position for event in mine}
        seen = everything.take(2, matching=lambda event: event.position in positions)
        assert [event.position for event in seen] == sorted(positions)
        assert seen[1].HasField("balance_after_fen") and seen[1].party == e.EVENT_PARTY_UNSPECIFIED

        # Reconnecting after the last position received: the rest, nothing twice.
        again = Follower(stubs.events, e.FollowEventsRequest(after_position=mine[0].position), user(AUTHORIZER))
        try:
            assert [event.position for event in again.take(1)] == [mine[1].position]
            with pytest.raises(queue.Empty):
                again.events.get(timeout=1.5)
        finally:
            again.close()
    finally:
        for follower in (authorizer, member, everything):
            follower.close()


def test_R_EVT_2_refusals(stubs, pb):
    e = pb["event"]

    def first(stub, request, metadata=()):
        return next(iter(stub.FollowEvents(request, metadata=metadata)))

    expect_error(lambda: first(stubs.events, e.FollowEventsRequest(all=True), user(AUTHORIZER)),
                 grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")
    expect_error(lambda: first(stubs.events, e.FollowEventsRequest()), grpc.StatusCode.UNAUTHENTICATED, "END_USER_REQUIRED")
    expect_error(lambda: first(stubs.events, e.FollowEventsRequest(after_position=-1), user(AUTHORIZER)),
                 grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")


def test_R_CTL_1_R_CTL_2_freeze_and_limits_over_the_wire(stubs, pb, daemon):
    """The authorizer of the first test freezes, then limits; the hospital's settlements follow."""
    b, s, e = pb["binding"], pb["settlement"], pb["event"]
    binding = next(x for x in stubs.bindings.ListBindings(
        b.ListBindingsRequest(perspective=b.ListBindingsRequest.PERSPECTIVE_AUTHORIZER), metadata=user(AUTHORIZER)).bindings
        if x.member_id_number == PATIENT)

    def settle(amount):
        return stubs.settlement.Settle(s.SettleRequest(
            institution_code=HOSPITAL, settlement_id="CTL-" + request_id()[:8], patient_id_number=PATIENT,
            credential=s.Credential(type=s.CREDENTIAL_TYPE_ELECTRONIC_VOUCHER, holder_id_number=PATIENT),
            amount_fen=amount)).settlement.split

    frozen = stubs.bindings.FreezeFamilyUse(b.FreezeFamilyUseRequest(request_id=request_id(), binding_id=binding.binding_id,
                                                                     frozen=True), metadata=user(AUTHORIZER))
    assert frozen.bindings[0].family_use_frozen
    split = settle(3000)
    assert split.acct_mulaid_pay == 0 and split.psn_cash_pay == 3000
    assert split.family_zero_note == s.FAMILY_FUND_NOTE_FROZEN
    expect_error(lambda: stubs.bindings.FreezeFamilyUse(b.FreezeFamilyUseRequest(
        request_id=request_id(), binding_id=binding.binding_id, frozen=False), metadata=user(PATIENT)),
        grpc.StatusCode.PERMISSION_DENIED, "NOT_AUTHORIZER")
    stubs.bindings.FreezeFamilyUse(b.FreezeFamilyUseRequest(request_id=request_id(), frozen=False), metadata=user(AUTHORIZER))

    # The day's limit counts today's earlier settlement too (120.00, the first test's).
    limited = stubs.bindings.SetFamilyUseLimits(b.SetFamilyUseLimitsRequest(
        request_id=request_id(), binding_id=binding.binding_id, settlement_limit_fen=1000, daily_limit_fen=12000 + 1500),
        metadata=user(AUTHORIZER)).binding
    assert limited.settlement_limit_fen == 1000 and limited.daily_limit_fen == 13500
    first = settle(3000)
    assert first.acct_mulaid_pay == 1000 and first.psn_cash_pay == 2000
    second = settle(3000)
    assert second.acct_mulaid_pay == 500, "what the day leaves"
    assert settle(100).family_zero_note == s.FAMILY_FUND_NOTE_LIMIT_REACHED
    expect_error(lambda: stubs.bindings.SetFamilyUseLimits(b.SetFamilyUseLimitsRequest(
        request_id=request_id(), binding_id=binding.binding_id, settlement_limit_fen=-1), metadata=user(AUTHORIZER)),
        grpc.StatusCode.INVALID_ARGUMENT, "AMOUNT_OUT_OF_RANGE")
    kinds = [event.kind for event in Follower(stubs.events, e.FollowEventsRequest(after_position=0), user(AUTHORIZER)).take(5)]
    assert e.EVENT_KIND_FAMILY_USE_FROZEN in kinds
