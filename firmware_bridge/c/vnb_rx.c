/* vnb_rx: stream decoder of the vnotary firmware bridge (SPEC.md §2-§6); see vnb_rx.h. */
#include "vnb_rx.h"

enum { STAGE_START = 0, STAGE_LOOP = 1, STAGE_DONE = 2 };

/* ---- CRC-32C: SSE4.2, or slice-by-8 (the same function as vnb_crc32c, ~8x faster) ----- */
static uint32_t crc_table[8][256];

/* x86-64 with GCC or Clang: the SSE4.2 crc32 instruction computes CRC-32C itself (~40 ns
 * less than slice-by-8 a 64-byte frame in bench_bridge.py); used when the CPU has it. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define VNB_HW_CRC 1
static int crc_hw;

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(const uint8_t *p, size_t n)
{
    unsigned long long crc = 0xFFFFFFFFu, word;
    while (n >= 8) {
        memcpy(&word, p, 8); /* little-endian load */
        crc = __builtin_ia32_crc32di(crc, word);
        p += 8;
        n -= 8;
    }
    while (n > 0) {
        crc = __builtin_ia32_crc32qi((unsigned int)crc, *p++);
        n--;
    }
    return (uint32_t)crc ^ 0xFFFFFFFFu;
}
#endif

void vnb_rx_tables_init(void)
{
    uint32_t i, k, c;
#ifdef VNB_HW_CRC
    __builtin_cpu_init();
    crc_hw = __builtin_cpu_supports("sse4.2");
#endif
    for (i = 0; i < 256; i++) {
        c = i;
        for (k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
        }
        crc_table[0][i] = c;
    }
    for (i = 0; i < 256; i++) {
        for (k = 1; k < 8; k++) {
            c = crc_table[k - 1][i];
            crc_table[k][i] = (c >> 8) ^ crc_table[0][c & 0xFFu];
        }
    }
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

uint32_t vnb_crc32c_fast(const uint8_t *p, size_t n)
{
#ifdef VNB_HW_CRC
    if (crc_hw) {
        return crc32c_sse42(p, n);
    }
#endif
    return vnb_crc32c_slice8(p, n);
}

uint32_t vnb_crc32c_slice8(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu, lo, hi;
    while (n >= 8) {
        lo = crc ^ le32(p);
        hi = le32(p + 4);
        crc = crc_table[7][lo & 0xFFu] ^ crc_table[6][(lo >> 8) & 0xFFu] ^
              crc_table[5][(lo >> 16) & 0xFFu] ^ crc_table[4][lo >> 24] ^
              crc_table[3][hi & 0xFFu] ^ crc_table[2][(hi >> 8) & 0xFFu] ^
              crc_table[1][(hi >> 16) & 0xFFu] ^ crc_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n > 0) {
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xFFu];
        n--;
    }
    return crc ^ 0xFFFFFFFFu;
}

/* ---- Payload checks (SPEC §4; messages.py decode()) ------------------------------------ */

/* Well-formed UTF-8 (Unicode 15 table 3-7): what Python's strict "utf-8" codec accepts. */
int vnb_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0, need, k;
    uint8_t c, lo, hi;
    while (i < n) {
        c = s[i];
        if (c < 0x80u) {
            i++;
            continue;
        }
        lo = 0x80u;
        hi = 0xBFu;
        if (c >= 0xC2u && c <= 0xDFu) {
            need = 1;
        } else if (c >= 0xE0u && c <= 0xEFu) {
            need = 2;
            if (c == 0xE0u) {
                lo = 0xA0u; /* overlong */
            } else if (c == 0xEDu) {
                hi = 0x9Fu; /* surrogates */
            }
        } else if (c >= 0xF0u && c <= 0xF4u) {
            need = 3;
            if (c == 0xF0u) {
                lo = 0x90u; /* overlong */
            } else if (c == 0xF4u) {
                hi = 0x8Fu; /* beyond U+10FFFF */
            }
        } else {
            return 0;
        }
        if (n - i - 1 < need || s[i + 1] < lo || s[i + 1] > hi) {
            return 0;
        }
        for (k = 2; k <= need; k++) {
            if ((s[i + k] & 0xC0u) != 0x80u) {
                return 0;
            }
        }
        i += need + 1;
    }
    return 1;
}

static int printable(const uint8_t *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (s[i] < 0x21u || s[i] > 0x7Eu) {
            return 0;
        }
    }
    return 1;
}

static int payload_ok(uint8_t type, const uint8_t *p, size_t n)
{
    switch (type) {
    case VNB_HELLO:
        return n == 40;
    case VNB_HEARTBEAT:
        return n == 8;
    case VNB_IMU:
        return n == 32;
    case VNB_GNSS:
        return n >= 1 && n <= VNB_MAX_GNSS;
    case VNB_SENSOR:
        return n >= 11 && n - 11 <= VNB_MAX_UNIT && printable(p + 11, n - 11);
    case VNB_TIME_SYNC:
        return n == 17 && p[0] >= 1 && p[0] <= 3;
    case VNB_LOG:
        return n >= 3 && n - 3 <= VNB_MAX_LOG_TEXT && p[0] <= 7 && vnb_utf8_valid(p + 3, n - 3);
    default:
        return 0;
    }
}

size_t vnb_payload_len(const uint8_t *frame, size_t len)
{
    size_t sig = (frame[2] & VNB_FLAG_SIGNED) ? VNB_SIG_SIZE : 0u;
    return len - VNB_HEADER_SIZE - VNB_CRC_SIZE - sig;
}

/* ---- Decoder ------------------------------------------------------------------------------ */
void vnb_rx_init(vnb_rx *rx, const vnb_rx_key *keys, size_t n_keys, int require_signed)
{
    memset(rx, 0, sizeof *rx);
    rx->keys = keys;
    rx->n_keys = n_keys;
    rx->require_signed = require_signed;
    rx->stage = STAGE_DONE;
}

void vnb_rx_begin(vnb_rx *rx, const uint8_t *data, size_t len)
{
    rx->in = data;
    rx->in_len = len;
    rx->in_pos = 0;
    rx->stage = STAGE_START;
}

static const uint8_t *find0(const uint8_t *p, size_t n)
{
    return n > 0 ? (const uint8_t *)memchr(p, 0, n) : NULL;
}

/* Drop a segment (a || b, split when it spans the pending bytes and the chunk). */
static int reject(vnb_rx *rx, vnb_rx_event *ev, uint8_t reason, const uint8_t *a, size_t alen,
                  const uint8_t *b, size_t blen)
{
    size_t take_a = alen < VNB_MAX_ENCODED ? alen : VNB_MAX_ENCODED;
    size_t take_b = blen < VNB_MAX_ENCODED - take_a ? blen : VNB_MAX_ENCODED - take_a;
    switch (reason) {
    case VNB_R_BAD_COBS:
        rx->c.cobs_errors++;
        break;
    case VNB_R_TOO_SHORT:
        rx->c.short_frames++;
        break;
    case VNB_R_TOO_LARGE:
        rx->c.oversize_frames++;
        break;
    case VNB_R_BAD_CRC:
        rx->c.crc_failures++;
        break;
    default:
        rx->c.unsupported_version++;
        break;
    }
    rx->c.resyncs++;
    rx->c.bytes_discarded += (uint64_t)alen + (uint64_t)blen;
    if (take_a > 0) {
        memcpy(rx->kept, a, take_a);
    }
    if (take_b > 0) {
        memcpy(rx->kept + take_a, b, take_b);
    }
    ev->kind = VNB_EV_REJECT;
    ev->data = rx->kept;
    ev->len = take_a + take_b;
    ev->reason = reason;
    ev->status = VNB_OK;
    return 1;
}

static size_t board_index(const uint32_t *boards, size_t n, uint32_t board)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (boards[i] == board) {
            return i;
        }
    }
    return n;
}

static const vnb_rx_key *find_key(const vnb_rx *rx, uint32_t board)
{
    size_t lo = 0, hi = rx->n_keys, mid;
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (rx->keys[mid].board_id == board) {
            return &rx->keys[mid];
        }
        if (rx->keys[mid].board_id < board) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

/* SPEC §5.4 */
static uint8_t authenticate(vnb_rx *rx, const uint8_t *f, size_t n, uint32_t board)
{
    const vnb_rx_key *key = find_key(rx, board);
    uint8_t mac[32], diff = 0;
    size_t end, i;
    uint64_t ts;
    if (!(f[2] & VNB_FLAG_SIGNED)) {
        if (key == NULL && !rx->require_signed) {
            return VNB_OK;
        }
        rx->c.unauthenticated++;
        return VNB_UNAUTHENTICATED;
    }
    if (key == NULL) {
        rx->c.unauthenticated++;
        return VNB_UNAUTHENTICATED;
    }
    end = n - VNB_CRC_SIZE - VNB_SIG_SIZE;
    vnb_hmac_sha256_prepared(&key->key, f, end + 6u, mac);
    for (i = 0; i < VNB_TAG_SIZE; i++) { /* constant time, as hmac.compare_digest */
        diff |= (uint8_t)(mac[i] ^ f[end + 6u + i]);
    }
    if (diff != 0) {
        rx->c.unauthenticated++;
        return VNB_UNAUTHENTICATED;
    }
    ts = (uint64_t)le32(f + end) | ((uint64_t)f[end + 4] << 32) | ((uint64_t)f[end + 5] << 40);
    i = board_index(rx->ts_board, rx->n_ts, board);
    if (i < rx->n_ts) {
        if (ts <= rx->ts_last[i]) {
            rx->c.replays++;
            return VNB_REPLAYED;
        }
        rx->ts_last[i] = ts;
    } else if (rx->n_ts < VNB_RX_MAX_BOARDS) {
        rx->ts_board[rx->n_ts] = board;
        rx->ts_last[rx->n_ts] = ts;
        rx->n_ts++;
    }
    return VNB_OK;
}

/* SPEC §6: missing sequence numbers between consecutive OK frames of a board. */
static void track_seq(vnb_rx *rx, uint32_t board, uint32_t seq)
{
    size_t i = board_index(rx->seq_board, rx->n_seq, board);
    uint32_t missing;
    if (i == rx->n_seq) {
        if (rx->n_seq >= VNB_RX_MAX_BOARDS) {
            return;
        }
        rx->seq_board[i] = board;
        rx->n_seq++;
    } else {
        missing = seq - rx->seq_next[i];
        if (missing >= 0x80000000u) {
            rx->c.seq_resets++;
        } else {
            rx->c.seq_gaps += missing;
        }
    }
    rx->seq_next[i] = seq + 1u;
}

/* One non-empty segment between delimiters: always one event (a frame or a reject). */
static int segment(vnb_rx *rx, vnb_rx_event *ev, const uint8_t *seg, size_t len)
{
    uint8_t *f = rx->frame;
    size_t n;
    uint8_t status, problem = VNB_R_NONE;
    uint32_t board;
    if (len > VNB_MAX_ENCODED) {
        return reject(rx, ev, VNB_R_TOO_LARGE, seg, len, NULL, 0);
    }
    n = vnb_cobs_decode(seg, len, f, sizeof rx->frame);
    if (n == VNB_COBS_ERROR) {
        return reject(rx, ev, VNB_R_BAD_COBS, seg, len, NULL, 0);
    }
    if (n < VNB_MIN_FRAME) {
        return reject(rx, ev, VNB_R_TOO_SHORT, seg, len, NULL, 0);
    }
    if (n > VNB_MAX_FRAME) {
        return reject(rx, ev, VNB_R_TOO_LARGE, seg, len, NULL, 0);
    }
    if (vnb_crc32c_fast(f, n - VNB_CRC_SIZE) != le32(f + n - VNB_CRC_SIZE)) {
        return reject(rx, ev, VNB_R_BAD_CRC, seg, len, NULL, 0);
    }
    if (f[0] != VNB_VERSION) {
        return reject(rx, ev, VNB_R_UNSUPPORTED_VERSION, seg, len, NULL, 0);
    }
    if ((f[2] & VNB_FLAG_SIGNED) && n < VNB_MIN_FRAME + VNB_SIG_SIZE) {
        return reject(rx, ev, VNB_R_TOO_SHORT, seg, len, NULL, 0);
    }
    board = le32(f + 3);
    status = authenticate(rx, f, n, board);
    rx->c.frames++;
    if (f[1] < VNB_HELLO || f[1] > VNB_LOG) {
        rx->c.unknown_types++;
    } else if (!payload_ok(f[1], f + VNB_HEADER_SIZE, vnb_payload_len(f, n))) {
        rx->c.bad_payloads++;
        problem = VNB_R_BAD_PAYLOAD;
    }
    if (status == VNB_OK) {
        track_seq(rx, board, le32(f + 7));
    }
    ev->kind = VNB_EV_FRAME;
    ev->data = f;
    ev->len = n;
    ev->reason = problem;
    ev->status = status;
    return 1;
}

/* The first delimiter of a chunk ends an oversize run being skipped, or the pending bytes. */
static int start(vnb_rx *rx, vnb_rx_event *ev)
{
    const uint8_t *in = rx->in, *z = find0(rx->in, rx->in_len);
    size_t n = rx->in_len, head = z != NULL ? (size_t)(z - in) : n, total;
    if (rx->skipping) {
        rx->c.bytes_discarded += head;
        if (z == NULL) {
            rx->in_pos = n;
            rx->stage = STAGE_DONE;
            return 0;
        }
        rx->skipping = 0;
        rx->in_pos = head + 1u;
        return 0;
    }
    if (rx->pend_len == 0) {
        return 0;
    }
    total = rx->pend_len + head;
    if (z == NULL) {
        rx->in_pos = n;
        rx->stage = STAGE_DONE;
        if (total > VNB_MAX_ENCODED) {
            rx->skipping = 1;
            rx->pend_len = 0;
            return reject(rx, ev, VNB_R_TOO_LARGE, rx->pend, total - n, in, n);
        }
        if (n > 0) {
            memcpy(rx->pend + rx->pend_len, in, n);
        }
        rx->pend_len = total;
        return 0;
    }
    rx->in_pos = head + 1u;
    rx->pend_len = 0;
    if (total > VNB_MAX_ENCODED) {
        return reject(rx, ev, VNB_R_TOO_LARGE, rx->pend, total - head, in, head);
    }
    if (head > 0) {
        memcpy(rx->pend + (total - head), in, head);
    }
    return segment(rx, ev, rx->pend, total);
}

int vnb_rx_next(vnb_rx *rx, vnb_rx_event *ev)
{
    const uint8_t *in = rx->in, *z;
    size_t n = rx->in_len, pos, tail;
    if (rx->stage == STAGE_START) {
        rx->stage = STAGE_LOOP;
        if (start(rx, ev)) {
            return 1;
        }
    }
    while (rx->stage == STAGE_LOOP) {
        pos = rx->in_pos;
        z = find0(in + pos, n - pos);
        if (z == NULL) {
            tail = n - pos;
            rx->in_pos = n;
            rx->stage = STAGE_DONE;
            if (tail > VNB_MAX_ENCODED) {
                rx->skipping = 1;
                rx->pend_len = 0;
                return reject(rx, ev, VNB_R_TOO_LARGE, in + pos, tail, NULL, 0);
            }
            if (tail > 0) {
                memcpy(rx->pend, in + pos, tail);
            }
            rx->pend_len = tail;
            return 0;
        }
        rx->in_pos = (size_t)(z - in) + 1u;
        if (z > in + pos) {
            return segment(rx, ev, in + pos, (size_t)(z - in) - pos);
        }
    }
    return 0;
}

void vnb_rx_abort(vnb_rx *rx)
{
    size_t i;
    if (rx->stage == STAGE_DONE) {
        return;
    }
    for (i = rx->in_pos; i < rx->in_len; i++) {
        rx->c.bytes_discarded += rx->in[i] != 0;
    }
    rx->in_pos = rx->in_len;
    rx->pend_len = 0;
    rx->stage = STAGE_DONE;
}

int vnb_rx_drop_partial(vnb_rx *rx, vnb_rx_event *ev)
{
    size_t n = rx->pend_len;
    rx->pend_len = 0;
    rx->skipping = 0;
    if (n == 0) {
        return 0;
    }
    return reject(rx, ev, VNB_R_TOO_SHORT, rx->pend, n, NULL, 0);
}
