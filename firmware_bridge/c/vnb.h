/*
 * vnb: reference encoder of the vnotary firmware bridge, protocol version 1
 * (firmware_bridge/SPEC.md). C99, no heap, no libc beyond <stdint.h> and <string.h>.
 *
 * One vnb_board per physical board holds the sequence number, the last signing
 * timestamp and a scratch frame buffer (VNB_MAX_FRAME bytes): no other memory is used
 * beyond small stack buffers. Every encoder writes COBS(frame) + 0x00 into `out` and
 * returns the number of bytes written, or 0 if the message does not fit (nothing is
 * consumed then: the sequence number only advances on success).
 */
#ifndef VNB_H
#define VNB_H

#include <stdint.h>
#include <string.h>

#define VNB_VERSION 1u
#define VNB_HEADER_SIZE 19u
#define VNB_CRC_SIZE 4u
#define VNB_SIG_SIZE 14u
#define VNB_TAG_SIZE 8u
#define VNB_KEY_SIZE 32u
#define VNB_MAX_FRAME 1024u
#define VNB_MAX_PAYLOAD (VNB_MAX_FRAME - VNB_HEADER_SIZE - VNB_SIG_SIZE - VNB_CRC_SIZE)
#define VNB_MAX_WIRE (VNB_MAX_FRAME + VNB_MAX_FRAME / 254u + 2u)
#define VNB_MAX_GNSS 512u
#define VNB_MAX_UNIT 16u
#define VNB_MAX_LOG_TEXT 256u
#define VNB_FLAG_SIGNED 0x01u
#define VNB_TS_MASK 0xFFFFFFFFFFFFull

enum vnb_type {
    VNB_HELLO = 0x01,
    VNB_HEARTBEAT = 0x02,
    VNB_IMU = 0x03,
    VNB_GNSS = 0x04,
    VNB_SENSOR = 0x05,
    VNB_TIME_SYNC = 0x06,
    VNB_LOG = 0x07
};

typedef struct {
    uint32_t board_id;
    uint32_t seq;                 /* of the next frame */
    const uint8_t *key;           /* VNB_KEY_SIZE bytes, or NULL: frames are not signed */
    uint64_t last_sign_ts;        /* persist across reboots when signing (SPEC 5.3) */
    uint8_t frame[VNB_MAX_FRAME]; /* scratch */
} vnb_board;

typedef struct {
    uint32_t state[8];
    uint64_t length;
    uint8_t block[64];
    uint32_t used;
} vnb_sha256_ctx;

/* An HMAC-SHA256 key with its padded blocks already hashed: two compressions saved per
 * message, for a receiver that checks many frames under one key. */
typedef struct {
    vnb_sha256_ctx inner;
    vnb_sha256_ctx outer;
} vnb_hmac_key;

#define VNB_COBS_ERROR ((size_t)-1)

/* Primitives */
uint32_t vnb_crc32c(const uint8_t *data, size_t len);
size_t vnb_cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);
void vnb_sha256_init(vnb_sha256_ctx *ctx);
void vnb_sha256_update(vnb_sha256_ctx *ctx, const uint8_t *data, size_t len);
void vnb_sha256_final(vnb_sha256_ctx *ctx, uint8_t digest[32]);
void vnb_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t len,
                     uint8_t mac[32]);
void vnb_hmac_sha256_prepare(vnb_hmac_key *hk, const uint8_t *key, size_t key_len);
void vnb_hmac_sha256_prepared(const vnb_hmac_key *hk, const uint8_t *msg, size_t len,
                              uint8_t mac[32]);
/* Decode one COBS segment (no delimiter inside) into `out`; returns the decoded length, or
 * VNB_COBS_ERROR if it is not COBS (a zero code or byte, a code past the end) or exceeds cap. */
size_t vnb_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);

/* Board */
void vnb_board_init(vnb_board *b, uint32_t board_id, const uint8_t *key);
size_t vnb_encode(vnb_board *b, uint8_t type, uint64_t mcu_us, const uint8_t *payload,
                  size_t len, uint8_t *out, size_t cap);
size_t vnb_hello(vnb_board *b, uint64_t mcu_us, uint8_t major, uint8_t minor, uint16_t patch,
                 const uint8_t image_sha256[32], uint32_t capabilities, uint8_t *out,
                 size_t cap);
size_t vnb_heartbeat(vnb_board *b, uint64_t mcu_us, uint32_t status, uint32_t tx_dropped,
                     uint8_t *out, size_t cap);
size_t vnb_imu(vnb_board *b, uint64_t mcu_us, const int32_t accel[3], const int32_t gyro[3],
               uint32_t accel_scale_nano, uint32_t gyro_scale_nano, uint8_t *out, size_t cap);
size_t vnb_gnss(vnb_board *b, uint64_t mcu_us, const uint8_t *sentence, size_t len,
                uint8_t *out, size_t cap);
size_t vnb_sensor(vnb_board *b, uint64_t mcu_us, uint16_t sensor_id, int64_t mantissa,
                  int8_t exponent, const char *unit, uint8_t *out, size_t cap);
size_t vnb_time_sync(vnb_board *b, uint64_t mcu_us, uint8_t source, uint64_t ref_mcu_us,
                     int64_t utc_ns, uint8_t *out, size_t cap);
size_t vnb_log(vnb_board *b, uint64_t mcu_us, uint8_t level, uint16_t code, const char *text,
               size_t len, uint8_t *out, size_t cap);

#endif
