/* A C consumer of gongji.v1 (protobuf-c): decodes the golden messages the Swift code encodes
 * (Tests/wire-golden), checks what they say, encodes them again and compares byte for byte; and
 * encodes two requests that the Swift tests decode (WireGoldenTests). Built and run by
 * scripts/check-c-consumer. Usage: consumer GOLDEN_DIR [write] ("write" writes the requests). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gongji/v1/binding.pb-c.h"
#include "gongji/v1/premium.pb-c.h"
#include "gongji/v1/settlement.pb-c.h"
#include "google/rpc/status.pb-c.h"

static int failures = 0;
#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); failures++; } } while (0)

static uint8_t *read_file(const char *dir, const char *name, size_t *len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "cannot read %s\n", path); exit(2); }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc(size > 0 ? size : 1);
    if (size > 0 && fread(data, 1, size, f) != (size_t)size) { fprintf(stderr, "short read %s\n", path); exit(2); }
    fclose(f);
    *len = size;
    return data;
}

/* Packs `msg` and compares with `golden`: protobuf-c writes fields in number order, as Swift does. */
static void same_bytes(const ProtobufCMessage *msg, const uint8_t *golden, size_t len, const char *name) {
    size_t size = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(size ? size : 1);
    protobuf_c_message_pack(msg, buf);
    if (size != len || memcmp(buf, golden, len) != 0) { fprintf(stderr, "%s: re-encoded bytes differ (%zu vs %zu)\n", name, size, len); failures++; }
    free(buf);
}

static void emit(const ProtobufCMessage *msg, const char *dir, const char *name, int write) {
    size_t size = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(size ? size : 1);
    protobuf_c_message_pack(msg, buf);
    if (write) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(buf, 1, size, f) != size) { fprintf(stderr, "cannot write %s\n", path); exit(2); }
        fclose(f);
    } else {
        size_t len;
        uint8_t *golden = read_file(dir, name, &len);
        if (len != size || memcmp(golden, buf, size) != 0) { fprintf(stderr, "%s: the C encoding differs from the golden file\n", name); failures++; }
        free(golden);
    }
    free(buf);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: consumer GOLDEN_DIR [write]\n"); return 2; }
    const char *dir = argv[1];
    int write = argc > 2 && strcmp(argv[2], "write") == 0;
    size_t len;
    uint8_t *data;

    data = read_file(dir, "pay_premium_response.binpb", &len);
    Gongji__V1__PayPremiumResponse *paid = gongji__v1__pay_premium_response__unpack(NULL, len, data);
    CHECK(paid && paid->payment && paid->receipt);
    if (paid && paid->payment && paid->receipt) {
        Gongji__V1__Payment *p = paid->payment;
        CHECK(strcmp(p->payment_id, "pay-0001") == 0);
        CHECK(strcmp(p->member_name, "王小明") == 0);
        CHECK(p->total_fen == 40500);
        CHECK(p->n_lines == 1 && p->lines[0]->year == 2027 && p->lines[0]->amount_fen == 40500);
        CHECK(p->n_postings == 2 && p->postings[0]->part == GONGJI__V1__BALANCE_PART__BALANCE_PART_CARRY_OVER && p->postings[0]->amount_fen == 30000);
        CHECK(p->create_time && p->create_time->seconds == 1796450400);
        CHECK(strcmp(paid->receipt->receipt_number, "GJ202612050000000001") == 0);
        CHECK(paid->receipt->n_years == 1 && paid->receipt->years[0] == 2027);
        same_bytes(&paid->base, data, len, "pay_premium_response");
        gongji__v1__pay_premium_response__free_unpacked(paid, NULL);
    }
    free(data);

    data = read_file(dir, "settle_response.binpb", &len);
    Gongji__V1__SettleResponse *settled = gongji__v1__settle_response__unpack(NULL, len, data);
    CHECK(settled && settled->settlement && settled->settlement->split && settled->settlement->institution);
    if (settled && settled->settlement && settled->settlement->split && settled->settlement->institution) {
        Gongji__V1__Settlement *s = settled->settlement;
        CHECK(strcmp(s->settlement_id, "S-0001") == 0);
        CHECK(strcmp(s->institution->institution_code, "H15010000001") == 0);
        CHECK(s->status == GONGJI__V1__SETTLEMENT_STATUS__SETTLEMENT_STATUS_SETTLED);
        CHECK(s->split->amount_fen == 10000 && s->split->acct_pay == 0 && s->split->acct_mulaid_pay == 8000 && s->split->psn_cash_pay == 2000);
        CHECK(s->split->n_family == 1 && s->split->family[0]->amount_fen == 8000);
        CHECK(s->split->n_postings == 1 && strcmp(s->split->postings[0]->binding_id, "bind-0001") == 0);
        same_bytes(&settled->base, data, len, "settle_response");
        gongji__v1__settle_response__free_unpacked(settled, NULL);
    }
    free(data);

    /* proto3 optional, compiled as a oneof: a limit of 0 that was sent is told from none. */
    data = read_file(dir, "get_binding_response_zero_limit.binpb", &len);
    Gongji__V1__GetBindingResponse *bound = gongji__v1__get_binding_response__unpack(NULL, len, data);
    CHECK(bound && bound->binding);
    if (bound && bound->binding) {
        CHECK(strcmp(bound->binding->binding_id, "bind-0001") == 0);
        CHECK(bound->binding->_medical_limit_fen_case == GONGJI__V1__BINDING___MEDICAL_LIMIT_FEN_MEDICAL_LIMIT_FEN);
        CHECK(bound->binding->medical_limit_fen == 0);
        same_bytes(&bound->base, data, len, "get_binding_response");
        gongji__v1__get_binding_response__free_unpacked(bound, NULL);
    }
    free(data);

    data = read_file(dir, "status_credential_not_patients_own.binpb", &len);
    Google__Rpc__Status *status = google__rpc__status__unpack(NULL, len, data);
    CHECK(status != NULL);
    if (status) {
        CHECK(status->code == 7); /* PERMISSION_DENIED */
        CHECK(strncmp(status->message, "CREDENTIAL_NOT_PATIENTS_OWN", 27) == 0);
        CHECK(status->n_details >= 1 && strcmp(status->details[0]->type_url, "type.googleapis.com/google.rpc.ErrorInfo") == 0);
        same_bytes(&status->base, data, len, "status");
        google__rpc__status__free_unpacked(status, NULL);
    }
    free(data);

    /* Requests, as a C client would send them. */
    Gongji__V1__ExternalPayment external = GONGJI__V1__EXTERNAL_PAYMENT__INIT;
    external.amount_fen = 500;
    external.reference = "现金-0001";
    int32_t years[] = {2027};
    Gongji__V1__PayPremiumRequest pay = GONGJI__V1__PAY_PREMIUM_REQUEST__INIT;
    pay.request_id = "pay-0001";
    pay.binding_id = "bind-0001";
    pay.n_years = 1;
    pay.years = years;
    pay.expected_total_fen = 40500;
    pay.external = &external;
    emit(&pay.base, dir, "pay_premium_request.binpb", write);

    Gongji__V1__Credential credential = GONGJI__V1__CREDENTIAL__INIT;
    credential.type = GONGJI__V1__CREDENTIAL_TYPE__CREDENTIAL_TYPE_ELECTRONIC_VOUCHER;
    credential.holder_id_number = "150102201006012427";
    Gongji__V1__SettleRequest settle = GONGJI__V1__SETTLE_REQUEST__INIT;
    settle.institution_code = "H15010000001";
    settle.settlement_id = "S-0001";
    settle.patient_id_number = "150102201006012427";
    settle.credential = &credential;
    settle.amount_fen = 10000;
    emit(&settle.base, dir, "settle_request.binpb", write);

    if (failures) { fprintf(stderr, "%d checks failed\n", failures); return 1; }
    printf("c-consumer: 4 golden answers decoded and re-encoded byte for byte, 2 requests %s\n", write ? "written" : "encoded as the golden files");
    return 0;
}
