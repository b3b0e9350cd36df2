"""Every RPC of gongji.v1 over mutual TLS with a client generated from proto/: happy paths, the
documented errors with their status codes and ErrorInfo reasons, paging, idempotent retries,
role and end-user enforcement, health and reflection."""
import grpc
import pytest

from conftest import error_info, expect_error, make_id, request_id, user

# Demo people of `gongjid dev` (see DevEnvironment.demoRows).
HOHHOT_AUTH = make_id("150102", "19800315", 131)
HOHHOT_SPOUSE = make_id("150102", "19820707", 422)
HOHHOT_CHILD = make_id("150102", "20100601", 242)
HOHHOT_CHILD2 = make_id("150102", "20120202", 246)
HOHHOT_PARENT = make_id("150102", "19550101", 311)
ULANQAB_AUTH = make_id("150902", "19800315", 131)
ULANQAB_CHILD = make_id("150902", "20100601", 242)
MAANSHAN_AUTH = make_id("340503", "19800315", 131)
MAANSHAN_CHILD = make_id("340503", "20100601", 242)
MAANSHAN_SPOUSE = make_id("340503", "19820707", 422)

JPEG = bytes([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10]) + b"JFIF" + bytes(range(256)) * 400 + bytes([0xFF, 0xD9])
PNG = bytes([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52]) + b"\x42" * 50000 \
    + bytes([0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82])


@pytest.fixture(scope="module")
def stubs(daemon, pb):
    channels = {role: daemon.channel(role) for role in ["gateway", "reviewer", "operator"]}

    class Stubs:
        bindings = pb["binding_grpc"].BindingServiceStub(channels["gateway"])
        documents = pb["document_grpc"].DocumentServiceStub(channels["gateway"])
        premiums = pb["premium_grpc"].PremiumServiceStub(channels["gateway"])
        review = pb["review_grpc"].ReviewServiceStub(channels["reviewer"])
        registry = pb["registry_grpc"].RegistryServiceStub(channels["operator"])
        operations = pb["operations_grpc"].OperationsServiceStub(channels["operator"])
        gateway_operations = pb["operations_grpc"].OperationsServiceStub(channels["gateway"])
        gateway_registry = pb["registry_grpc"].RegistryServiceStub(channels["gateway"])
        reviewer_premiums = pb["premium_grpc"].PremiumServiceStub(channels["reviewer"])
        health = pb["health_grpc"].HealthStub(channels["gateway"])
        reflection = pb["reflection_grpc"].ServerReflectionStub(channels["gateway"])

    yield Stubs
    for channel in channels.values():
        channel.close()


def upload(stubs, pb, data, side, as_user, chunk=16384):
    def messages():
        yield pb["document"].UploadIdentityDocumentRequest(metadata=pb["document"].UploadMetadata(side=side, media_type="image/jpeg"))
        for offset in range(0, len(data), chunk):
            yield pb["document"].UploadIdentityDocumentRequest(chunk=data[offset:offset + chunk])
    return stubs.documents.UploadIdentityDocument(messages(), metadata=user(as_user))


def bind_hohhot(stubs, pb, daemon, member, name, relationship=None, rid=None):
    c = pb["common"]
    front = upload(stubs, pb, JPEG, c.DOCUMENT_SIDE_FRONT, HOHHOT_AUTH)
    back = upload(stubs, pb, PNG, c.DOCUMENT_SIDE_BACK, HOHHOT_AUTH)
    request = pb["binding"].CreateBindingRequest(
        request_id=rid or request_id(), member_name=name, member_id_number=member,
        relationship=relationship or c.RELATIONSHIP_CHILD, start_date=daemon.today.isoformat(),
        commitment=pb["binding"].Commitment(version="hohhot-2024-09", accept_time={"seconds": 1700000000}),
        front_document_id=front.document_id, back_document_id=back.document_id)
    return request, stubs.bindings.CreateBinding(request, metadata=user(HOHHOT_AUTH)).binding


# --- health and reflection ---------------------------------------------------------------

def test_health_check_and_watch(stubs, pb):
    h = pb["health"]
    assert stubs.health.Check(h.HealthCheckRequest()).status == h.HealthCheckResponse.SERVING
    assert stubs.health.Check(h.HealthCheckRequest(service="gongji.v1.PremiumService")).status == h.HealthCheckResponse.SERVING
    expect_error(lambda: stubs.health.Check(h.HealthCheckRequest(service="no.Such")), grpc.StatusCode.NOT_FOUND)
    watch = stubs.health.Watch(h.HealthCheckRequest())
    assert next(watch).status == h.HealthCheckResponse.SERVING
    watch.cancel()


def test_reflection_lists_services_and_serves_descriptors(stubs, pb):
    r = pb["reflection"]
    replies = list(stubs.reflection.ServerReflectionInfo(iter([
        r.ServerReflectionRequest(list_services=""),
        r.ServerReflectionRequest(file_containing_symbol="gongji.v1.BindingService"),
    ])))
    names = {s.name for s in replies[0].list_services_response.service}
    assert {"gongji.v1.BindingService", "gongji.v1.DocumentService", "gongji.v1.ReviewService", "gongji.v1.PremiumService",
            "gongji.v1.RegistryService", "gongji.v1.OperationsService", "grpc.health.v1.Health"} <= names
    from google.protobuf import descriptor_pb2
    files = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in replies[1].file_descriptor_response.file_descriptor_proto]
    assert files[0].name == "gongji/v1/binding.proto"
    assert any(f.name == "gongji/v1/common.proto" for f in files)


def test_reflection_serves_the_error_detail_types_and_buf_curl_errors_decode(stubs, pb, daemon):
    """google.rpc.ErrorInfo & co. are served by reflection (grpcurl resolves details with them);
    buf curl prints details base64 whatever the server serves, and scripts/decode-details decodes them."""
    import os
    import subprocess
    import sys
    from google.protobuf import descriptor_pb2
    r = pb["reflection"]
    reply = list(stubs.reflection.ServerReflectionInfo(iter([r.ServerReflectionRequest(file_containing_symbol="google.rpc.ErrorInfo")])))[0]
    files = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in reply.file_descriptor_response.file_descriptor_proto]
    assert files[0].name == "google/rpc/error_details.proto"
    assert {"ErrorInfo", "LocalizedMessage", "BadRequest", "Help"} <= {m.name for m in files[0].message_type}
    pki = os.path.join(daemon.directory, "pki")
    buf = os.path.join(os.path.dirname(sys.executable), "buf")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    curl = subprocess.run([buf, "curl", "--protocol", "grpc", "--cacert", f"{pki}/ca.pem", "--cert", f"{pki}/operator.pem",
                           "--key", f"{pki}/operator-key.pem", "-d", '{"id_number":"110105194912310021"}',
                           f"https://127.0.0.1:{daemon.port}/gongji.v1.RegistryService/GetPerson"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert curl.returncode == 3 * 8, curl.stdout
    decoded = subprocess.run([os.path.join(root, "scripts", "decode-details")], input=curl.stdout, stdout=subprocess.PIPE, text=True)
    assert decoded.returncode == 0
    assert "== google.rpc.ErrorInfo" in decoded.stdout and 'reason: "ID_NUMBER_CHECK_FAILED"' in decoded.stdout
    assert "身份证号码校验位错误" in decoded.stdout, decoded.stdout


# --- roles and end users ------------------------------------------------------------------

def test_roles_are_enforced(stubs, pb, daemon):
    expect_error(lambda: stubs.gateway_registry.GetPerson(pb["registry"].GetPersonRequest(id_number=HOHHOT_AUTH)),
                 grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")
    expect_error(lambda: stubs.gateway_operations.SetRegionAvailability(
        pb["operations"].SetRegionAvailabilityRequest(request_id=request_id(), region_code="150100", suspended=True)),
        grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")
    reviewer_bindings = pb["binding_grpc"].BindingServiceStub(daemon.channel("reviewer"))
    expect_error(lambda: reviewer_bindings.ListBindings(pb["binding"].ListBindingsRequest(perspective=1), metadata=user(HOHHOT_AUTH)),
                 grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")
    anonymous = pb["health_grpc"].HealthStub(daemon.channel("none"))
    with pytest.raises(grpc.RpcError) as raised:
        anonymous.Check(pb["health"].HealthCheckRequest(), timeout=10)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE


def test_gateway_calls_need_an_end_user(stubs, pb):
    expect_error(lambda: stubs.bindings.ListBindings(pb["binding"].ListBindingsRequest(perspective=1)),
                 grpc.StatusCode.UNAUTHENTICATED, "END_USER_REQUIRED")
    expect_error(lambda: stubs.bindings.ListBindings(pb["binding"].ListBindingsRequest(perspective=1), metadata=user("123")),
                 grpc.StatusCode.UNAUTHENTICATED, "END_USER_INVALID")


# --- registry and regions -----------------------------------------------------------------

def test_registry_upsert_get_credit(stubs, pb):
    reg, c = pb["registry"], pb["common"]
    person = reg.Person(id_number=make_id("150102", "19900101", 901), name="周一", insurance_type=c.INSURANCE_TYPE_EMPLOYEE,
                        status=c.INSURANCE_STATUS_NORMAL, region_code="150100")
    rid = request_id()
    created = stubs.registry.UpsertPerson(reg.UpsertPersonRequest(request_id=rid, person=person))
    assert created.created and created.person.name == "周一"
    assert stubs.registry.UpsertPerson(reg.UpsertPersonRequest(request_id=rid, person=person)).created, "a retry returns the first result"
    got = stubs.registry.GetPerson(reg.GetPersonRequest(id_number=person.id_number))
    assert got.account.current_year_fen == 0
    credit_rid = request_id()
    credit = reg.CreditAccountRequest(request_id=credit_rid, id_number=person.id_number, amount_fen=12345, reference="CT-" + credit_rid)
    assert stubs.registry.CreditAccount(credit).account.current_year_fen == 12345
    assert stubs.registry.CreditAccount(credit).account.current_year_fen == 12345
    credit.amount_fen = 1
    expect_error(lambda: stubs.registry.CreditAccount(credit), grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED")
    bad = reg.Person(id_number=person.id_number[:-1] + ("0" if person.id_number[-1] != "0" else "1"), name="x",
                     insurance_type=c.INSURANCE_TYPE_EMPLOYEE, status=c.INSURANCE_STATUS_NORMAL, region_code="150100")
    expect_error(lambda: stubs.registry.UpsertPerson(reg.UpsertPersonRequest(request_id=request_id(), person=bad)),
                 grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")
    expect_error(lambda: stubs.registry.GetPerson(reg.GetPersonRequest(id_number=make_id("110105", "19491231", 2))),
                 grpc.StatusCode.NOT_FOUND, "PERSON_NOT_FOUND")
    expect_error(lambda: stubs.registry.GetPerson(reg.GetPersonRequest(id_number="110105194912310021")),
                 grpc.StatusCode.INVALID_ARGUMENT, "ID_NUMBER_CHECK_FAILED")


def test_registry_import_all_or_nothing(stubs, pb):
    reg = pb["registry"]
    new_id = make_id("150102", "19910101", 902)

    def send(text, fmt):
        yield reg.ImportRegistryRequest(header=reg.ImportHeader(format=fmt, file_name="contract.jsonl"))
        data = text.encode()
        for offset in range(0, len(data), 10):
            yield reg.ImportRegistryRequest(chunk=data[offset:offset + 10])

    good = (f'{{"kind":"person","id_number":"{new_id}","name":"吴二","insurance_type":"employee","status":"normal","region_code":"150100"}}\n'
            f'{{"kind":"credit","id_number":"{new_id}","amount_fen":500,"reference":"IMP-{new_id}"}}\n')
    bad = good + '{"kind":"credit","id_number":"' + new_id + '","amount_fen":0,"reference":"X"}\n'
    with pytest.raises(grpc.RpcError) as raised:
        stubs.registry.ImportRegistry(send(bad, reg.IMPORT_FORMAT_JSON_LINES))
    code, reason, metadata, _ = error_info(raised.value)
    assert (code, reason, metadata["line"]) == (grpc.StatusCode.INVALID_ARGUMENT, "IMPORT_ROW_INVALID", "3")
    expect_error(lambda: stubs.registry.GetPerson(reg.GetPersonRequest(id_number=new_id)), grpc.StatusCode.NOT_FOUND)
    summary = stubs.registry.ImportRegistry(send(good, reg.IMPORT_FORMAT_JSON_LINES))
    assert (summary.lines, summary.persons_upserted, summary.credits_applied) == (2, 1, 1)


def test_rollover_runs_once_per_year_in_order(stubs, pb, daemon):
    """R-ACCT-2: dev mode opened the accounts in the current year (its carry-over loaded, R-ACCT-3);
    a rollover into that year is refused naming the valid year,
    and that year has not begun."""
    reg = pb["registry"]
    metadata = expect_error(lambda: stubs.registry.RollOverYear(reg.RollOverYearRequest(request_id=request_id(), year=daemon.today.year)),
                            grpc.StatusCode.FAILED_PRECONDITION, "ROLLOVER_YEAR_INVALID")
    assert metadata["valid_year"] == str(daemon.today.year + 1)
    expect_error(lambda: stubs.registry.RollOverYear(reg.RollOverYearRequest(request_id=request_id(), year=daemon.today.year + 1)),
                 grpc.StatusCode.FAILED_PRECONDITION, "ROLLOVER_YEAR_NOT_BEGUN")
    expect_error(lambda: stubs.registry.RollOverYear(reg.RollOverYearRequest(request_id=request_id(), year=1999)),
                 grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")


def test_regions_list_policy_and_availability(stubs, pb):
    ops = pb["operations"]
    first = stubs.operations.ListRegions(ops.ListRegionsRequest(page_size=2))
    second = stubs.operations.ListRegions(ops.ListRegionsRequest(page_size=2, page_token=first.next_page_token))
    assert [r.region_code for r in list(first.regions) + list(second.regions)] == ["150100", "150900", "340500", "460100"]
    assert second.next_page_token == ""
    policy = stubs.gateway_operations.GetRegionPolicy(ops.GetRegionPolicyRequest(region_code="150900"))
    assert policy.region.hotline == "12393" and '"newborn_days" : 90' in policy.policy_json
    expect_error(lambda: stubs.operations.GetRegionPolicy(ops.GetRegionPolicyRequest(region_code="110000")),
                 grpc.StatusCode.NOT_FOUND, "REGION_NOT_FOUND")
    expect_error(lambda: stubs.operations.ListRegions(ops.ListRegionsRequest(page_token="zzz")),
                 grpc.StatusCode.INVALID_ARGUMENT, "PAGE_TOKEN_INVALID")


def test_suspended_region_names_the_alternatives(stubs, pb, daemon):
    ops, c = pb["operations"], pb["common"]
    suspended = stubs.operations.SetRegionAvailability(ops.SetRegionAvailabilityRequest(request_id=request_id(), region_code="150900", suspended=True))
    assert suspended.region.suspended
    front = upload(stubs, pb, JPEG, c.DOCUMENT_SIDE_FRONT, ULANQAB_AUTH)
    request = pb["binding"].CreateBindingRequest(
        request_id=request_id(), member_name="李小明", member_id_number=ULANQAB_CHILD, relationship=c.RELATIONSHIP_CHILD,
        start_date=daemon.today.isoformat(), front_document_id=front.document_id, back_document_id=front.document_id)
    metadata = expect_error(lambda: stubs.bindings.CreateBinding(request, metadata=user(ULANQAB_AUTH)),
                            grpc.StatusCode.UNAVAILABLE, "FAMILY_PAYMENT_SUSPENDED")
    assert metadata["hotline"] == "12393" and "蒙速办" in metadata["alternative_channels"]
    resumed = stubs.operations.SetRegionAvailability(ops.SetRegionAvailabilityRequest(request_id=request_id(), region_code="150900", suspended=False))
    assert not resumed.region.suspended


# --- documents, bindings, review ----------------------------------------------------------

def test_upload_identity_documents(stubs, pb):
    c = pb["common"]
    first = upload(stubs, pb, JPEG, c.DOCUMENT_SIDE_FRONT, HOHHOT_AUTH)
    import hashlib
    assert first.document_id == hashlib.sha256(JPEG).hexdigest() and first.media_type == "image/jpeg"
    assert upload(stubs, pb, JPEG, c.DOCUMENT_SIDE_FRONT, HOHHOT_AUTH, chunk=7000).deduplicated
    expect_error(lambda: upload(stubs, pb, b"%PDF-1.7 not an image", c.DOCUMENT_SIDE_FRONT, HOHHOT_AUTH),
                 grpc.StatusCode.INVALID_ARGUMENT, "NOT_AN_IMAGE")
    expect_error(lambda: stubs.documents.UploadIdentityDocument(iter([pb["document"].UploadIdentityDocumentRequest(chunk=b"x")]),
                                                                metadata=user(HOHHOT_AUTH)),
                 grpc.StatusCode.INVALID_ARGUMENT, "UPLOAD_METADATA_REQUIRED")


def test_binding_create_get_list_revoke(stubs, pb, daemon):
    b, c = pb["binding"], pb["common"]
    request, created = bind_hohhot(stubs, pb, daemon, HOHHOT_SPOUSE, "王秀英", relationship=c.RELATIONSHIP_SPOUSE)
    assert created.status == c.BINDING_STATUS_ACTIVE
    assert stubs.bindings.CreateBinding(request, metadata=user(HOHHOT_AUTH)).binding.binding_id == created.binding_id
    request.member_name = "王秀"
    expect_error(lambda: stubs.bindings.CreateBinding(request, metadata=user(HOHHOT_AUTH)), grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED")
    request.request_id = request_id()
    expect_error(lambda: stubs.bindings.CreateBinding(request, metadata=user(HOHHOT_AUTH)), grpc.StatusCode.INVALID_ARGUMENT, "NAME_MISMATCH")
    request.member_name, request.member_id_number, request.relationship = "王老汉", HOHHOT_PARENT, c.RELATIONSHIP_CHILD
    expect_error(lambda: stubs.bindings.CreateBinding(request, metadata=user(HOHHOT_AUTH)), grpc.StatusCode.INVALID_ARGUMENT,
                 "RELATIONSHIP_IMPLAUSIBLE")
    request.relationship, request.start_date = c.RELATIONSHIP_PARENT, "2000-01-01"
    expect_error(lambda: stubs.bindings.CreateBinding(request, metadata=user(HOHHOT_AUTH)), grpc.StatusCode.INVALID_ARGUMENT,
                 "START_DATE_IN_PAST")

    got = stubs.bindings.GetBinding(b.GetBindingRequest(binding_id=created.binding_id), metadata=user(HOHHOT_SPOUSE))
    assert got.binding.member_id_number == HOHHOT_SPOUSE
    expect_error(lambda: stubs.bindings.GetBinding(b.GetBindingRequest(binding_id=created.binding_id), metadata=user(MAANSHAN_AUTH)),
                 grpc.StatusCode.PERMISSION_DENIED, "NOT_PARTY")
    _, second = bind_hohhot(stubs, pb, daemon, HOHHOT_PARENT, "王老汉", relationship=c.RELATIONSHIP_PARENT)
    seen, token = [], ""
    while True:
        page = stubs.bindings.ListBindings(b.ListBindingsRequest(perspective=b.ListBindingsRequest.PERSPECTIVE_AUTHORIZER, page_size=1,
                                                                 page_token=token), metadata=user(HOHHOT_AUTH))
        seen += [x.binding_id for x in page.bindings]
        token = page.next_page_token
        if not token:
            break
    assert seen[:2] == [second.binding_id, created.binding_id]
    expect_error(lambda: stubs.bindings.RevokeBinding(b.RevokeBindingRequest(request_id=request_id(), binding_id=second.binding_id),
                                                      metadata=user(MAANSHAN_AUTH)), grpc.StatusCode.PERMISSION_DENIED, "NOT_PARTY")
    revoked = stubs.bindings.RevokeBinding(b.RevokeBindingRequest(request_id=request_id(), binding_id=second.binding_id), metadata=user(HOHHOT_AUTH))
    assert revoked.binding.status == c.BINDING_STATUS_REVOKED and revoked.binding.ended_by == b.BINDING_END_PARTY_AUTHORIZER
    expect_error(lambda: stubs.bindings.RevokeBinding(b.RevokeBindingRequest(request_id=request_id(), binding_id=second.binding_id),
                                                      metadata=user(HOHHOT_AUTH)), grpc.StatusCode.FAILED_PRECONDITION, "BINDING_REVOKED")


def test_review_flow_and_document_reading(stubs, pb, daemon):
    b, r, c = pb["binding"], pb["review"], pb["common"]
    pending = stubs.bindings.CreateBinding(b.CreateBindingRequest(
        request_id=request_id(), member_name="张秀英", member_id_number=MAANSHAN_SPOUSE, relationship=c.RELATIONSHIP_SPOUSE,
        start_date=daemon.today.isoformat()), metadata=user(MAANSHAN_AUTH)).binding
    assert pending.status == c.BINDING_STATUS_PENDING
    queue = stubs.review.ListPendingBindings(r.ListPendingBindingsRequest(region_code="340500"))
    assert pending.binding_id in [x.binding_id for x in queue.bindings]
    expect_error(lambda: stubs.review.RejectBinding(r.RejectBindingRequest(request_id=request_id(), binding_id=pending.binding_id)),
                 grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")
    rejected = stubs.review.RejectBinding(r.RejectBindingRequest(request_id=request_id(), binding_id=pending.binding_id, reason="材料不全"))
    assert rejected.binding.status == c.BINDING_STATUS_REJECTED and rejected.binding.rejection_reason == "材料不全"
    expect_error(lambda: stubs.review.ApproveBinding(r.ApproveBindingRequest(request_id=request_id(), binding_id=pending.binding_id)),
                 grpc.StatusCode.FAILED_PRECONDITION, "BINDING_REJECTED")
    expect_error(lambda: stubs.review.ApproveBinding(r.ApproveBindingRequest(request_id=request_id(), binding_id="none")),
                 grpc.StatusCode.NOT_FOUND, "BINDING_NOT_FOUND")
    document = upload(stubs, pb, PNG, c.DOCUMENT_SIDE_BACK, HOHHOT_AUTH)
    parts = list(stubs.review.ReadIdentityDocument(r.ReadIdentityDocumentRequest(document_id=document.document_id)))
    assert parts[0].metadata.side == c.DOCUMENT_SIDE_BACK
    assert b"".join(p.chunk for p in parts[1:]) == PNG
    with pytest.raises(grpc.RpcError) as raised:
        list(stubs.review.ReadIdentityDocument(r.ReadIdentityDocumentRequest(document_id="0" * 64)))
    assert error_info(raised.value)[:2] == (grpc.StatusCode.NOT_FOUND, "DOCUMENT_NOT_FOUND")


# --- premiums -------------------------------------------------------------------------------

def test_quote_pay_receipts_and_records(stubs, pb, daemon):
    p, c = pb["premium"], pb["common"]
    _, binding = bind_hohhot(stubs, pb, daemon, HOHHOT_CHILD2, "王小红")
    year = daemon.demo_year
    quote = stubs.premiums.QuotePremium(p.QuotePremiumRequest(binding_id=binding.binding_id, years=[year]), metadata=user(HOHHOT_AUTH))
    assert quote.total_fen == 20000 and quote.lines[0].category == "subsistence_allowance" and quote.shortfall_fen == 0
    expect_error(lambda: stubs.premiums.QuotePremium(p.QuotePremiumRequest(binding_id=binding.binding_id, years=[1990]), metadata=user(HOHHOT_AUTH)),
                 grpc.StatusCode.FAILED_PRECONDITION, "PREMIUM_YEAR_UNKNOWN")
    pay = p.PayPremiumRequest(request_id=request_id(), binding_id=binding.binding_id, years=[year], expected_total_fen=19999)
    expect_error(lambda: stubs.premiums.PayPremium(pay, metadata=user(HOHHOT_AUTH)), grpc.StatusCode.INVALID_ARGUMENT, "AMOUNT_MISMATCH")
    pay.request_id, pay.expected_total_fen = request_id(), 20000
    expect_error(lambda: stubs.premiums.PayPremium(pay, metadata=user(HOHHOT_CHILD2)), grpc.StatusCode.PERMISSION_DENIED, "NOT_AUTHORIZER")
    paid = stubs.premiums.PayPremium(pay, metadata=user(HOHHOT_AUTH))
    again = stubs.premiums.PayPremium(pay, metadata=user(HOHHOT_AUTH))
    assert again.payment.payment_id == paid.payment.payment_id and again.receipt.receipt_number == paid.receipt.receipt_number
    pay.request_id = request_id()
    expect_error(lambda: stubs.premiums.PayPremium(pay, metadata=user(HOHHOT_AUTH)), grpc.StatusCode.ALREADY_EXISTS, "PREMIUM_ALREADY_PAID")

    got = stubs.premiums.GetPayment(p.GetPaymentRequest(payment_id=paid.payment.payment_id), metadata=user(HOHHOT_CHILD2))
    assert got.payment.total_fen == 20000 and sum(x.amount_fen for x in got.payment.postings) == 20000
    receipt = stubs.premiums.GetReceipt(p.GetReceiptRequest(receipt_number=paid.receipt.receipt_number), metadata=user(HOHHOT_AUTH)).receipt
    assert receipt.payer_id_number_masked == HOHHOT_AUTH[:4] + "*" * 10 + HOHHOT_AUTH[-4:]
    verified = stubs.reviewer_premiums.VerifyReceipt(p.VerifyReceiptRequest(receipt_number=receipt.receipt_number,
                                                                            verification_code=receipt.verification_code))
    assert verified.genuine and verified.receipt.total_fen == 20000
    assert not stubs.premiums.VerifyReceipt(p.VerifyReceiptRequest(receipt_number=receipt.receipt_number, verification_code="0" * 20)).genuine
    deductions = stubs.premiums.ListAccountDeductions(p.ListAccountDeductionsRequest(page_size=1), metadata=user(HOHHOT_AUTH))
    assert deductions.payments[0].payment_id == paid.payment.payment_id
    member = stubs.premiums.ListMemberPayments(p.ListMemberPaymentsRequest(), metadata=user(HOHHOT_CHILD2))
    assert [x.payment_id for x in member.payments] == [paid.payment.payment_id]
    expect_error(lambda: stubs.premiums.GetReceipt(p.GetReceiptRequest(receipt_number=receipt.receipt_number), metadata=user(MAANSHAN_AUTH)),
                 grpc.StatusCode.PERMISSION_DENIED, "NOT_PARTY")


def test_balance_insufficient_reports_the_shortfall(stubs, pb, daemon):
    p = pb["premium"]
    # The Ma'anshan demo family pays from 300.00 carry-over only; the demo premium is 400.00.
    b, r, c = pb["binding"], pb["review"], pb["common"]
    binding = stubs.bindings.CreateBinding(b.CreateBindingRequest(
        request_id=request_id(), member_name="张小明", member_id_number=MAANSHAN_CHILD, relationship=c.RELATIONSHIP_CHILD,
        start_date=daemon.today.isoformat()), metadata=user(MAANSHAN_AUTH)).binding
    request = p.PayPremiumRequest(request_id=request_id(), binding_id=binding.binding_id, years=[daemon.demo_year], expected_total_fen=40000)
    expect_error(lambda: stubs.premiums.PayPremium(request, metadata=user(MAANSHAN_AUTH)), grpc.StatusCode.FAILED_PRECONDITION,
                 "BINDING_PENDING_REVIEW")
    stubs.review.ApproveBinding(r.ApproveBindingRequest(request_id=request_id(), binding_id=binding.binding_id))
    request.request_id = request_id()
    metadata = expect_error(lambda: stubs.premiums.PayPremium(request, metadata=user(MAANSHAN_AUTH)), grpc.StatusCode.FAILED_PRECONDITION,
                            "BALANCE_INSUFFICIENT")
    assert metadata["shortfall_fen"] == "10000"
    request.request_id = request_id()
    request.external.amount_fen, request.external.reference = 10000, "CASH-CT-1"
    paid = stubs.premiums.PayPremium(request, metadata=user(MAANSHAN_AUTH))
    assert paid.receipt.account_fen == 30000 and paid.receipt.external_fen == 10000
