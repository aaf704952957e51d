/*
 * The first published layout of ABI 1, frozen: the host table as it stood
 * before timers, alarms, data streams and refusal reasons were appended to
 * it. A plugin built against this header is what an author who has not
 * rebuilt since then ships; the host must go on loading and serving it
 * (docs/ABI.md). Never edit this file: it is the past, kept as it was.
 */
#ifndef LIVEBOT_ABI1_FIRST_H
#define LIVEBOT_ABI1_FIRST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LIVEBOT_ABI_VERSION 1u
#define LIVEBOT_EXPORT __attribute__((visibility("default")))

enum { LIVEBOT_OK = 0, LIVEBOT_ERROR = 1, LIVEBOT_BAD_INPUT = 2, LIVEBOT_NOT_FOUND = 3, LIVEBOT_REFUSED = 4 };
enum { LIVEBOT_CB_CONSTRUCT = 1, LIVEBOT_CB_INITIALIZE = 2, LIVEBOT_CB_MEASUREMENTS = 5 };
enum { LIVEBOT_VALUE_INT = 2 };

typedef struct livebot_exec livebot_exec;
typedef struct livebot_string { const char *data; size_t size; } livebot_string;

typedef struct livebot_host_api {
  uint32_t abi_version;
  uint32_t struct_size;
  int64_t (*timestamp_ms)(livebot_exec *);
  void (*log)(livebot_exec *, int32_t, const char *, size_t);
  int32_t (*set_state)(livebot_exec *, const uint8_t *, size_t);
  void (*set_error)(livebot_exec *, const char *, size_t);
  int32_t (*save_variable)(livebot_exec *, const char *, size_t, int32_t, const uint8_t *, size_t, int32_t);
  int32_t (*load_variable)(livebot_exec *, const char *, size_t, int32_t *, const uint8_t **, size_t *);
  int32_t (*delete_variable)(livebot_exec *, const char *, size_t);
  int32_t (*notify)(livebot_exec *, const char *, size_t, const char *, size_t);
  int32_t (*device_history)(livebot_exec *, const char *, size_t, const char *, size_t, const uint8_t **, size_t *);
} livebot_host_api;

typedef struct livebot_plugin {
  uint32_t abi_version;
  uint32_t struct_size;
  const char *name;
  const char *version;
  const char *sdk_version;
  const char *state_root_type;
  const uint8_t *schema;
  size_t schema_size;
  void *(*open)(const livebot_host_api *, livebot_exec *, const uint8_t *, size_t, const livebot_string *, size_t);
  int32_t (*call)(void *, int32_t, const uint8_t *, size_t);
  int32_t (*close)(void *, int32_t);
} livebot_plugin;

#ifdef __cplusplus
}
#endif

#endif /* LIVEBOT_ABI1_FIRST_H */
