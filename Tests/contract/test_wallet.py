"""gongji.v1.WalletService and the cross-province path over mutual TLS (R-XP-1 … R-XP-7): a Hohhot
authorizer binds his mother insured in Haikou, she opens her wallet, he grants into it, she
accepts, settles and pays her premium from it, the clearing report, and she ends the binding.

The daemon of this module runs on a copy of the shipped policies whose quiet hours are off
(quiet_from = quiet_until): the contract runs at any time of day, and 22:00-06:00 China time is
tested with a moving clock in the Swift suite."""
import os
import re
import shutil
import signal
import tempfile

import grpc
import pytest

from conftest import Daemon, ROOT, expect_error, launch, make_id, request_id, user
from test_contract import JPEG, PNG

HOSPITAL = "H15010000001"   # seeded by gongjid dev
SON = make_id("150102", "19780808", 771)
MOTHER = make_id("460100", "19500505", 772)


@pytest.fixture(scope="module")
def wallet_daemon(daemon):
    policies = tempfile.mkdtemp(prefix="gongji-policies-")
    for name in os.listdir(os.path.join(ROOT, "deploy", "policies")):
        text = open(os.path.join(ROOT, "deploy", "policies", name)).read()
        text = re.sub(r"cross_province: \{ enabled: true \}",
                      'cross_province: { enabled: true, quiet_from: "00:00", quiet_until: "00:00" }', text)
        if name == "hohhot.json5":
            # R-LTC-1 (test data): a long-term-care contribution of 90.00 for the demo year, its window open today.
            year, today = daemon.demo_year, daemon.today
            text = text.rstrip().rstrip("}") + (
                f'  long_term_care: [{{ year: {year}, amount_fen: 9000, window_start: "{today.replace(day=1).isoformat()}", '
                f'window_end: "{year}-02-28" }}],\n}}\n')
        open(os.path.join(policies, name), "w").write(text)
    directory = tempfile.mkdtemp(prefix="gongji-wallet-")
    # On PostgreSQL a database of its own (gongjid dev seeds an empty one): scripts/test names it.
    postgresql = os.environ.get("GONGJI_CONTRACT_POSTGRESQL_WALLET") if daemon.postgresql else None
    extra = ["--postgresql", postgresql] if postgresql else []
    process, port, _ = launch(directory, *extra, policies=policies)
    yield Daemon(directory, port, process, postgresql)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    shutil.rmtree(policies, ignore_errors=True)


@pytest.fixture(scope="module")
def stubs(wallet_daemon, pb):
    channels = {role: wallet_daemon.channel(role) for role in ["gateway", "operator", "settlement"]}

    class Stubs:
        registry = pb["registry_grpc"].RegistryServiceStub(channels["operator"])
        operations = pb["operations_grpc"].OperationsServiceStub(channels["operator"])
        gateway_operations = pb["operations_grpc"].OperationsServiceStub(channels["gateway"])
        documents = pb["document_grpc"].DocumentServiceStub(channels["gateway"])
        bindings = pb["binding_grpc"].BindingServiceStub(channels["gateway"])
        premiums = pb["premium_grpc"].PremiumServiceStub(channels["gateway"])
        wallet = pb["wallet_grpc"].WalletServiceStub(channels["gateway"])
        settlement = pb["settlement_grpc"].SettlementServiceStub(channels["settlement"])
        operator_wallet = pb["wallet_grpc"].WalletServiceStub(channels["operator"])

    yield Stubs
    for channel in channels.values():
        channel.close()


def upload(stubs, pb, data, side):
    def messages():
        yield pb["document"].UploadIdentityDocumentRequest(metadata=pb["document"].UploadMetadata(side=side, media_type="image/jpeg"))
        yield pb["document"].UploadIdentityDocumentRequest(chunk=data)
    return stubs.documents.UploadIdentityDocument(messages(), metadata=user(SON))


def test_R_XP_wallet_session(stubs, pb, wallet_daemon):
    reg, c, b, w, s, o = pb["registry"], pb["common"], pb["binding"], pb["wallet"], pb["settlement"], pb["operations"]
    stubs.registry.UpsertPerson(reg.UpsertPersonRequest(request_id=request_id(), person=reg.Person(
        id_number=SON, name="赵国强", insurance_type=c.INSURANCE_TYPE_EMPLOYEE, status=c.INSURANCE_STATUS_NORMAL, region_code="150100")))
    stubs.registry.UpsertPerson(reg.UpsertPersonRequest(request_id=request_id(), person=reg.Person(
        id_number=MOTHER, name="孙桂兰", insurance_type=c.INSURANCE_TYPE_RESIDENT, status=c.INSURANCE_STATUS_NORMAL, region_code="460100")))
    stubs.registry.CreditAccount(reg.CreditAccountRequest(request_id=request_id(), id_number=SON, amount_fen=300000,
                                                          reference="WALLET-" + request_id()))

    # R-XP-1: the policy shows the terms; a binding across provinces is made like any other.
    policy = stubs.gateway_operations.GetRegionPolicy(o.GetRegionPolicyRequest(region_code="150100")).policy
    assert policy.cross_province.enabled and policy.cross_province.transfer_max_fen == 200000
    assert policy.cross_province.transfers_per_day == 3 and policy.cross_province.return_at == "06:00"
    front = upload(stubs, pb, JPEG, c.DOCUMENT_SIDE_FRONT)
    back = upload(stubs, pb, PNG, c.DOCUMENT_SIDE_BACK)
    binding = stubs.bindings.CreateBinding(b.CreateBindingRequest(
        request_id=request_id(), member_name="孙桂兰", member_id_number=MOTHER, relationship=c.RELATIONSHIP_PARENT,
        start_date=wallet_daemon.today.isoformat(), commitment=b.Commitment(version="hohhot-2024-09", accept_time={"seconds": 1700000000}),
        front_document_id=front.document_id, back_document_id=back.document_id), metadata=user(SON)).binding
    assert binding.status == c.BINDING_STATUS_ACTIVE

    def transfer(fen, rid=None):
        return stubs.wallet.TransferToWallet(w.TransferToWalletRequest(
            request_id=rid or request_id(), binding_id=binding.binding_id, amount_fen=fen), metadata=user(SON))

    # R-XP-2: the wallet is opened by the member first.
    expect_error(lambda: transfer(10000), grpc.StatusCode.FAILED_PRECONDITION, "WALLET_NOT_OPEN")
    assert stubs.wallet.GetWallet(w.GetWalletRequest(), metadata=user(MOTHER)).HasField("wallet") is False
    opened = stubs.wallet.OpenWallet(w.OpenWalletRequest(request_id=request_id()), metadata=user(MOTHER))
    assert opened.opened and opened.wallet.province_code == "460000"
    assert not stubs.wallet.OpenWallet(w.OpenWalletRequest(request_id=request_id()), metadata=user(MOTHER)).opened

    # R-XP-3: at most 2,000.00; exactly once per request id; the money leaves at once.
    expect_error(lambda: transfer(200001), grpc.StatusCode.INVALID_ARGUMENT, "TRANSFER_ABOVE_MAXIMUM")
    rid = request_id()
    sent = transfer(200000, rid)
    assert sent.transfer.status == w.TRANSFER_STATUS_PENDING and sent.balance_after_fen == 100000
    assert transfer(200000, rid).transfer.transfer_id == sent.transfer.transfer_id
    assert MOTHER not in str(sent) and SON not in str(sent), "no full ID number leaves the daemon"
    # R-XP-4: one pending transfer per member; the member answers it, nobody else.
    expect_error(lambda: transfer(100), grpc.StatusCode.FAILED_PRECONDITION, "TRANSFER_PENDING")
    expect_error(lambda: stubs.operator_wallet.GetWallet(w.GetWalletRequest(), metadata=user(MOTHER)),
                 grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")
    received = stubs.wallet.ListWalletTransfers(w.ListWalletTransfersRequest(
        perspective=w.ListWalletTransfersRequest.PERSPECTIVE_MEMBER), metadata=user(MOTHER))
    assert [t.transfer_id for t in received.transfers] == [sent.transfer.transfer_id]
    expect_error(lambda: stubs.wallet.ListWalletTransfers(w.ListWalletTransfersRequest(), metadata=user(MOTHER)),
                 grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")
    answer = lambda who, accept: stubs.wallet.AnswerTransfer(w.AnswerTransferRequest(
        request_id=request_id(), transfer_id=sent.transfer.transfer_id, accept=accept), metadata=user(who))
    expect_error(lambda: answer(SON, True), grpc.StatusCode.PERMISSION_DENIED, "NOT_MEMBER")
    assert answer(MOTHER, True).transfer.status == w.TRANSFER_STATUS_ACCEPTED
    expect_error(lambda: answer(MOTHER, False), grpc.StatusCode.FAILED_PRECONDITION, "TRANSFER_NOT_PENDING")
    wallet = stubs.wallet.GetWallet(w.GetWalletRequest(), metadata=user(MOTHER)).wallet
    assert wallet.balance_fen == 200000 and [h.binding_id for h in wallet.holdings] == [binding.binding_id]
    granted = stubs.wallet.ListGrantedHoldings(w.ListGrantedHoldingsRequest(), metadata=user(SON))
    assert granted.total_fen == 200000 and [h.member_id_number_masked for h in granted.holdings] == [MOTHER[:4] + "*" * 10 + MOTHER[-4:]]

    # R-XP-5: she settles at a hospital from her wallet (the family part), then pays her premium from it.
    settled = stubs.settlement.Settle(s.SettleRequest(
        institution_code=HOSPITAL, settlement_id="XP-" + request_id()[:8], patient_id_number=MOTHER,
        credential=s.Credential(type=s.CREDENTIAL_TYPE_ELECTRONIC_VOUCHER, holder_id_number=MOTHER), amount_fen=30000))
    split = settled.settlement.split
    assert split.acct_mulaid_pay == 30000 and split.psn_cash_pay == 0
    assert all(p.from_wallet and p.binding_id == binding.binding_id for p in split.postings)
    paid = stubs.premiums.PayPremium(pb["premium"].PayPremiumRequest(
        request_id=request_id(), binding_id=binding.binding_id, years=[wallet_daemon.demo_year], expected_total_fen=40000),
        metadata=user(MOTHER))
    assert paid.payment.from_wallet and paid.payment.total_fen == 40000
    assert stubs.wallet.GetWallet(w.GetWalletRequest(), metadata=user(MOTHER)).wallet.balance_fen == 130000

    # R-LTC-1: her long-term-care contribution — Haikou has none (LONG_TERM_CARE_NOT_OFFERED); her son's
    # Hohhot child pays Hohhot's (90.00) beside the premium, once per year and kind.
    prem = pb["premium"]
    expect_error(lambda: stubs.premiums.QuotePremium(prem.QuotePremiumRequest(
        binding_id=binding.binding_id, years=[wallet_daemon.demo_year], kind=prem.PREMIUM_KIND_LONG_TERM_CARE), metadata=user(MOTHER)),
        grpc.StatusCode.FAILED_PRECONDITION, "LONG_TERM_CARE_NOT_OFFERED")

    # R-XP-7: the month has not ended: no clearing yet; a month long past clears to nothing.
    month = wallet_daemon.today.strftime("%Y-%m")
    expect_error(lambda: list(stubs.operations.ReportCrossProvinceClearing(o.ReportCrossProvinceClearingRequest(month=month))),
                 grpc.StatusCode.FAILED_PRECONDITION, "MONTH_NOT_ENDED")
    assert list(stubs.operations.ReportCrossProvinceClearing(o.ReportCrossProvinceClearingRequest(month="2020-01"))) == []
    expect_error(lambda: list(stubs.operations.ReportCrossProvinceClearing(o.ReportCrossProvinceClearingRequest(month="2020-13"))),
                 grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")

    # R-XP-6: she ends the binding; what her wallet holds comes back to his carry-over.
    ended = stubs.bindings.RevokeBinding(b.RevokeBindingRequest(request_id=request_id(), binding_id=binding.binding_id),
                                         metadata=user(MOTHER)).binding
    assert ended.status == c.BINDING_STATUS_REVOKED
    assert stubs.wallet.GetWallet(w.GetWalletRequest(), metadata=user(MOTHER)).wallet.balance_fen == 0
    account = stubs.registry.GetPerson(reg.GetPersonRequest(id_number=SON)).account
    assert account.carry_over_fen == 130000


def test_R_LTC_1_long_term_care_beside_the_premium(stubs, pb, wallet_daemon):
    reg, c, b, prem = pb["registry"], pb["common"], pb["binding"], pb["premium"]
    child = make_id("150102", "20150505", 773)
    stubs.registry.UpsertPerson(reg.UpsertPersonRequest(request_id=request_id(), person=reg.Person(
        id_number=child, name="赵小宝", insurance_type=c.INSURANCE_TYPE_RESIDENT, status=c.INSURANCE_STATUS_NORMAL, region_code="150100")))
    front = upload(stubs, pb, JPEG, c.DOCUMENT_SIDE_FRONT)
    back = upload(stubs, pb, PNG, c.DOCUMENT_SIDE_BACK)
    binding = stubs.bindings.CreateBinding(b.CreateBindingRequest(
        request_id=request_id(), member_name="赵小宝", member_id_number=child, relationship=c.RELATIONSHIP_CHILD,
        start_date=wallet_daemon.today.isoformat(), commitment=b.Commitment(version="hohhot-2024-09", accept_time={"seconds": 1700000000}),
        front_document_id=front.document_id, back_document_id=back.document_id), metadata=user(SON)).binding
    year = wallet_daemon.demo_year
    quote = stubs.premiums.QuotePremium(prem.QuotePremiumRequest(
        binding_id=binding.binding_id, years=[year], kind=prem.PREMIUM_KIND_LONG_TERM_CARE), metadata=user(SON))
    assert quote.total_fen == 9000
    pay = lambda kind, total: stubs.premiums.PayPremium(prem.PayPremiumRequest(
        request_id=request_id(), binding_id=binding.binding_id, years=[year], expected_total_fen=total, kind=kind), metadata=user(SON))
    care = pay(prem.PREMIUM_KIND_LONG_TERM_CARE, 9000)
    assert care.payment.kind == prem.PREMIUM_KIND_LONG_TERM_CARE and care.receipt.kind == prem.PREMIUM_KIND_LONG_TERM_CARE
    resident_total = stubs.premiums.QuotePremium(prem.QuotePremiumRequest(binding_id=binding.binding_id, years=[year]),
                                                 metadata=user(SON)).total_fen
    resident = pay(prem.PREMIUM_KIND_UNSPECIFIED, resident_total)
    assert resident.payment.kind == prem.PREMIUM_KIND_UNSPECIFIED, "the resident premium, as answers said before kinds"
    expect_error(lambda: pay(prem.PREMIUM_KIND_LONG_TERM_CARE, 9000), grpc.StatusCode.ALREADY_EXISTS, "PREMIUM_ALREADY_PAID")
