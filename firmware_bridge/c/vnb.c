/* vnb: reference encoder of the vnotary firmware bridge (firmware_bridge/SPEC.md, v1). */
#include "vnb.h"

/* ---- CRC-32C (Castagnoli, reflected polynomial 0x82F63B78; SPEC 3.3) ---------------- */
uint32_t vnb_crc32c(const uint8_t *data, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    int bit;
    for (i = 0; i < len; i++) {
        crc ^= data[i];
        for (bit = 0; bit < 8; bit++) {
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
        }
    }
    return crc ^ 0xFFFFFFFFu;
}

/* ---- COBS (Cheshire & Baker 1999; SPEC 2) -------------------------------------------- */
size_t vnb_cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    size_t code_at = 0, o = 1, i;
    uint8_t code = 1;
    if (cap == 0) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (in[i] == 0) {
            out[code_at] = code;
            code_at = o++;
            code = 1;
        } else {
            if (o >= cap) {
                return 0;
            }
            out[o++] = in[i];
            code++;
            if (code == 0xFF) {
                out[code_at] = code;
                code = 1;
                if (i + 1 == len) {
                    return o; /* data ends on a full block: no trailing code */
                }
                code_at = o++;
            }
        }
        if (o > cap) {
            return 0;
        }
    }
    out[code_at] = code;
    return o;
}

size_t vnb_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    size_t i = 0, o = 0, run;
    while (i < len) {
        uint8_t code = in[i];
        if (code == 0 || (size_t)code > len - i) {
            return VNB_COBS_ERROR; /* a code byte that runs past the segment */
        }
        run = (size_t)code - 1u;
        if (run > cap - o || memchr(in + i + 1, 0, run) != NULL) {
            return VNB_COBS_ERROR;
        }
        memcpy(out + o, in + i + 1, run);
        o += run;
        i += code;
        if (code != 0xFF && i < len) { /* a block shorter than 254 ends at a zero */
            if (o == cap) {
                return VNB_COBS_ERROR;
            }
            out[o++] = 0;
        }
    }
    return o;
}

/* ---- SHA-256 (FIPS 180-4) -------------------------------------------------------------- */
static const uint32_t K256[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u,
    0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u,
    0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu,
    0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u,
    0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u,
    0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u,
    0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u,
    0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t s[8], const uint8_t *p)
{
    uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
    int i;
    for (i = 0; i < 16; i++) {
        w[i] = ((uint32_t)p[4 * i] << 24) | ((uint32_t)p[4 * i + 1] << 16) |
               ((uint32_t)p[4 * i + 2] << 8) | (uint32_t)p[4 * i + 3];
    }
    for (i = 16; i < 64; i++) {
        uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = s[0]; b = s[1]; c = s[2]; d = s[3]; e = s[4]; f = s[5]; g = s[6]; h = s[7];
    for (i = 0; i < 64; i++) {
        t1 = h + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
        t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    s[0] += a; s[1] += b; s[2] += c; s[3] += d; s[4] += e; s[5] += f; s[6] += g; s[7] += h;
}

void vnb_sha256_init(vnb_sha256_ctx *ctx)
{
    static const uint32_t h0[8] = {
    0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
    };
    memcpy(ctx->state, h0, sizeof h0);
    ctx->length = 0;
    ctx->used = 0;
}

void vnb_sha256_update(vnb_sha256_ctx *ctx, const uint8_t *data, size_t len)
{
    size_t i = 0;
    ctx->length += (uint64_t)len * 8u;
    while (i < len) {
        if (ctx->used == 0 && len - i >= 64) { /* whole blocks straight from the input */
            sha256_block(ctx->state, data + i);
            i += 64;
            continue;
        }
        ctx->block[ctx->used++] = data[i++];
        if (ctx->used == 64) {
            sha256_block(ctx->state, ctx->block);
            ctx->used = 0;
        }
    }
}

void vnb_sha256_final(vnb_sha256_ctx *ctx, uint8_t digest[32])
{
    uint64_t bits = ctx->length;
    int i;
    ctx->block[ctx->used++] = 0x80;
    if (ctx->used > 56) {
        memset(ctx->block + ctx->used, 0, 64 - ctx->used);
        sha256_block(ctx->state, ctx->block);
        ctx->used = 0;
    }
    memset(ctx->block + ctx->used, 0, 56 - ctx->used);
    for (i = 0; i < 8; i++) {
        ctx->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    }
    sha256_block(ctx->state, ctx->block);
    for (i = 0; i < 32; i++) {
        digest[i] = (uint8_t)(ctx->state[i / 4] >> (24 - 8 * (i % 4)));
    }
}

/* ---- HMAC-SHA256 (RFC 2104) --------------------------------------------------------------- */
void vnb_hmac_sha256_prepare(vnb_hmac_key *hk, const uint8_t *key, size_t key_len)
{
    uint8_t pad[64];
    size_t i;
    memset(pad, 0, sizeof pad);
    if (key_len > 64) {
        vnb_sha256_init(&hk->inner);
        vnb_sha256_update(&hk->inner, key, key_len);
        vnb_sha256_final(&hk->inner, pad);
    } else if (key_len > 0) {
        memcpy(pad, key, key_len);
    }
    for (i = 0; i < 64; i++) {
        pad[i] ^= 0x36;
    }
    vnb_sha256_init(&hk->inner);
    vnb_sha256_update(&hk->inner, pad, 64);
    for (i = 0; i < 64; i++) {
        pad[i] ^= 0x36 ^ 0x5C;
    }
    vnb_sha256_init(&hk->outer);
    vnb_sha256_update(&hk->outer, pad, 64);
}

void vnb_hmac_sha256_prepared(const vnb_hmac_key *hk, const uint8_t *msg, size_t len,
                              uint8_t mac[32])
{
    vnb_sha256_ctx ctx = hk->inner;
    uint8_t inner[32];
    vnb_sha256_update(&ctx, msg, len);
    vnb_sha256_final(&ctx, inner);
    ctx = hk->outer;
    vnb_sha256_update(&ctx, inner, 32);
    vnb_sha256_final(&ctx, mac);
}

void vnb_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t len,
                     uint8_t mac[32])
{
    vnb_hmac_key hk;
    vnb_hmac_sha256_prepare(&hk, key, key_len);
    vnb_hmac_sha256_prepared(&hk, msg, len, mac);
}

/* ---- Frames (SPEC 3, 5) ------------------------------------------------------------------- */
static void put_le(uint8_t *p, uint64_t v, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

void vnb_board_init(vnb_board *b, uint32_t board_id, const uint8_t *key)
{
    b->board_id = board_id;
    b->seq = 0;
    b->key = key;
    b->last_sign_ts = 0;
}

size_t vnb_encode(vnb_board *b, uint8_t type, uint64_t mcu_us, const uint8_t *payload,
                  size_t len, uint8_t *out, size_t cap)
{
    uint8_t *f = b->frame;
    uint8_t mac[32];
    uint64_t ts = 0;
    size_t n, wire;
    if (len > VNB_MAX_PAYLOAD) {
        return 0;
    }
    f[0] = VNB_VERSION;
    f[1] = type;
    f[2] = b->key != NULL ? VNB_FLAG_SIGNED : 0u;
    put_le(f + 3, b->board_id, 4);
    put_le(f + 7, b->seq, 4);
    put_le(f + 11, mcu_us, 8);
    if (len > 0) {
        memcpy(f + VNB_HEADER_SIZE, payload, len);
    }
    n = VNB_HEADER_SIZE + len;
    if (b->key != NULL) {
        /* Strictly increasing even when two frames share a microsecond (SPEC 5.2). */
        ts = mcu_us & VNB_TS_MASK;
        if (ts <= b->last_sign_ts) {
            ts = b->last_sign_ts + 1u;
        }
        if (ts > VNB_TS_MASK) {
            return 0;
        }
        put_le(f + n, ts, 6);
        n += 6;
        vnb_hmac_sha256(b->key, VNB_KEY_SIZE, f, n, mac);
        memcpy(f + n, mac, VNB_TAG_SIZE);
        n += VNB_TAG_SIZE;
    }
    put_le(f + n, vnb_crc32c(f, n), 4);
    n += VNB_CRC_SIZE;
    wire = vnb_cobs_encode(f, n, out, cap);
    if (wire == 0 || wire >= cap) {
        return 0;
    }
    out[wire++] = 0x00;
    b->seq++;
    if (b->key != NULL) {
        b->last_sign_ts = ts;
    }
    return wire;
}

size_t vnb_hello(vnb_board *b, uint64_t mcu_us, uint8_t major, uint8_t minor, uint16_t patch,
                 const uint8_t image_sha256[32], uint32_t capabilities, uint8_t *out,
                 size_t cap)
{
    uint8_t p[40];
    p[0] = major;
    p[1] = minor;
    put_le(p + 2, patch, 2);
    memcpy(p + 4, image_sha256, 32);
    put_le(p + 36, capabilities, 4);
    return vnb_encode(b, VNB_HELLO, mcu_us, p, sizeof p, out, cap);
}

size_t vnb_heartbeat(vnb_board *b, uint64_t mcu_us, uint32_t status, uint32_t tx_dropped,
                     uint8_t *out, size_t cap)
{
    uint8_t p[8];
    put_le(p, status, 4);
    put_le(p + 4, tx_dropped, 4);
    return vnb_encode(b, VNB_HEARTBEAT, mcu_us, p, sizeof p, out, cap);
}

size_t vnb_imu(vnb_board *b, uint64_t mcu_us, const int32_t accel[3], const int32_t gyro[3],
               uint32_t accel_scale_nano, uint32_t gyro_scale_nano, uint8_t *out, size_t cap)
{
    uint8_t p[32];
    int i;
    for (i = 0; i < 3; i++) {
        put_le(p + 4 * i, (uint32_t)accel[i], 4);
        put_le(p + 12 + 4 * i, (uint32_t)gyro[i], 4);
    }
    put_le(p + 24, accel_scale_nano, 4);
    put_le(p + 28, gyro_scale_nano, 4);
    return vnb_encode(b, VNB_IMU, mcu_us, p, sizeof p, out, cap);
}

size_t vnb_gnss(vnb_board *b, uint64_t mcu_us, const uint8_t *sentence, size_t len,
                uint8_t *out, size_t cap)
{
    if (len == 0 || len > VNB_MAX_GNSS) {
        return 0;
    }
    return vnb_encode(b, VNB_GNSS, mcu_us, sentence, len, out, cap);
}

size_t vnb_sensor(vnb_board *b, uint64_t mcu_us, uint16_t sensor_id, int64_t mantissa,
                  int8_t exponent, const char *unit, uint8_t *out, size_t cap)
{
    uint8_t p[11 + VNB_MAX_UNIT];
    size_t n = 0;
    while (unit[n] != '\0') {
        if (n == VNB_MAX_UNIT || unit[n] < 0x21 || unit[n] > 0x7E) {
            return 0;
        }
        p[11 + n] = (uint8_t)unit[n];
        n++;
    }
    put_le(p, sensor_id, 2);
    p[2] = (uint8_t)exponent;
    put_le(p + 3, (uint64_t)mantissa, 8);
    return vnb_encode(b, VNB_SENSOR, mcu_us, p, 11 + n, out, cap);
}

size_t vnb_time_sync(vnb_board *b, uint64_t mcu_us, uint8_t source, uint64_t ref_mcu_us,
                     int64_t utc_ns, uint8_t *out, size_t cap)
{
    uint8_t p[17];
    p[0] = source;
    put_le(p + 1, ref_mcu_us, 8);
    put_le(p + 9, (uint64_t)utc_ns, 8);
    return vnb_encode(b, VNB_TIME_SYNC, mcu_us, p, sizeof p, out, cap);
}

size_t vnb_log(vnb_board *b, uint64_t mcu_us, uint8_t level, uint16_t code, const char *text,
               size_t len, uint8_t *out, size_t cap)
{
    uint8_t p[3 + VNB_MAX_LOG_TEXT];
    if (len > VNB_MAX_LOG_TEXT || level > 7) {
        return 0;
    }
    p[0] = level;
    put_le(p + 1, code, 2);
    if (len > 0) {
        memcpy(p + 3, text, len);
    }
    return vnb_encode(b, VNB_LOG, mcu_us, p, 3 + len, out, cap);
}
