/*
 * vnb_rx: the gateway's stream decoder of the vnotary firmware bridge, protocol version 1
 * (firmware_bridge/SPEC.md §2-§6), with exactly the semantics of the Python reference
 * (firmware_bridge/decoder.py, _PyDecoder). C99, no heap, no I/O: the caller owns the
 * vnb_rx (about 4 KiB) and the key table.
 *
 * Use: vnb_rx_begin(rx, data, len), then call vnb_rx_next(rx, &ev) until it returns 0;
 * each 1 is one event: an intact frame (ev.kind VNB_EV_FRAME) or a dropped segment
 * (VNB_EV_REJECT), in stream order. Every check and counter happens inside vnb_rx_next;
 * event data points into the vnb_rx and stays valid until the next call.
 */
#ifndef VNB_RX_H
#define VNB_RX_H

#include "vnb.h"

#define VNB_MIN_FRAME (VNB_HEADER_SIZE + VNB_CRC_SIZE)
#define VNB_MAX_ENCODED (VNB_MAX_FRAME + VNB_MAX_FRAME / 254u + 1u) /* limits.MAX_ENCODED */
#define VNB_RX_MAX_BOARDS 64u                                       /* limits.MAX_TRACKED_BOARDS */

enum vnb_reason { /* BridgeReason, in this order */
    VNB_R_NONE = 0,
    VNB_R_BAD_COBS,
    VNB_R_TOO_SHORT,
    VNB_R_TOO_LARGE,
    VNB_R_BAD_CRC,
    VNB_R_UNSUPPORTED_VERSION,
    VNB_R_BAD_PAYLOAD
};

enum vnb_status { VNB_OK = 0, VNB_UNAUTHENTICATED = 1, VNB_REPLAYED = 2 }; /* FrameStatus */

enum vnb_event_kind { VNB_EV_FRAME = 1, VNB_EV_REJECT = 2 };

/* In the order of the fields of decoder.Counters. */
typedef struct {
    uint64_t frames, crc_failures, cobs_errors, short_frames, oversize_frames,
        unsupported_version, bad_payloads, unknown_types, unauthenticated, replays, seq_gaps,
        seq_resets, resyncs, bytes_discarded, rejects_evicted;
} vnb_rx_counters;

#define VNB_RX_N_COUNTERS 15u

typedef struct {
    uint32_t board_id;
    vnb_hmac_key key;
} vnb_rx_key;

typedef struct {
    int kind;            /* enum vnb_event_kind */
    const uint8_t *data; /* FRAME: the decoded frame, CRC included; REJECT: kept bytes */
    size_t len;
    uint8_t reason;      /* REJECT: why; FRAME: VNB_R_BAD_PAYLOAD or VNB_R_NONE */
    uint8_t status;      /* FRAME: enum vnb_status */
} vnb_rx_event;

typedef struct {
    /* configuration */
    const vnb_rx_key *keys; /* sorted by board_id, no duplicates */
    size_t n_keys;
    int require_signed;
    /* bytes after the last delimiter, and whether they are inside an oversize run */
    uint8_t pend[VNB_MAX_ENCODED];
    size_t pend_len;
    int skipping;
    /* the chunk being fed */
    const uint8_t *in;
    size_t in_len, in_pos;
    int stage;
    /* per-board state, at most VNB_RX_MAX_BOARDS each, never evicted */
    uint32_t ts_board[VNB_RX_MAX_BOARDS];
    uint64_t ts_last[VNB_RX_MAX_BOARDS];
    size_t n_ts;
    uint32_t seq_board[VNB_RX_MAX_BOARDS];
    uint32_t seq_next[VNB_RX_MAX_BOARDS];
    size_t n_seq;
    /* scratch for events */
    uint8_t frame[VNB_MAX_ENCODED];
    uint8_t kept[VNB_MAX_ENCODED];
    vnb_rx_counters c;
} vnb_rx;

void vnb_rx_tables_init(void); /* once, before any other call (fills the CRC tables) */
/* CRC-32C: the SSE4.2 instruction where the CPU has it, else slice-by-8 (portable C). */
uint32_t vnb_crc32c_fast(const uint8_t *data, size_t len);
uint32_t vnb_crc32c_slice8(const uint8_t *data, size_t len);
int vnb_utf8_valid(const uint8_t *s, size_t len);

void vnb_rx_init(vnb_rx *rx, const vnb_rx_key *keys, size_t n_keys, int require_signed);
void vnb_rx_begin(vnb_rx *rx, const uint8_t *data, size_t len);
int vnb_rx_next(vnb_rx *rx, vnb_rx_event *ev);
/* Give up the rest of the chunk (the caller could not take an event): its non-delimiter
 * bytes count as discarded and the decoder resumes clean at the next chunk. */
void vnb_rx_abort(vnb_rx *rx);
/* Forget a half-received frame; returns 1 with a TOO_SHORT reject event if there was one. */
int vnb_rx_drop_partial(vnb_rx *rx, vnb_rx_event *ev);
/* The payload of a decoded frame (after a FRAME event): offset is VNB_HEADER_SIZE. */
size_t vnb_payload_len(const uint8_t *frame, size_t len);

#endif
