/*
 * livebot.h — the only contract between the livebot host and a microservice.
 *
 * A microservice is a shared object that exports one C function,
 * `livebot_entry`, returning a pointer to a static `livebot_plugin` table.
 * Everything that crosses this boundary is plain C: integers, pointers to
 * bytes with their lengths, and FlatBuffers payloads (schemas/livebot_event.fbs). No C++
 * type, exception, RTTI object or callback owned by the plugin ever crosses
 * it, so nothing the host keeps can outlive the plugin's code.
 *
 * Lifetime of one execution, per instance (one location, one microservice,
 * and for device microservices one device):
 *
 *   inst = plugin->open(host, exec, state, new_fields)    unpack stored state
 *   plugin->call(inst, LIVEBOT_CB_INITIALIZE, event)       every execution
 *   plugin->call(inst, LIVEBOT_CB_..., event)              zero or more triggers
 *   plugin->close(inst, save)                              pack state, free
 *
 * `inst` never outlives the execution: the plugin holds no memory of its own
 * between executions. The host owns the state bytes; `close` hands them back
 * through `host->set_state`, which copies them.
 *
 * ABI growth (docs/ABI.md): both tables start with their ABI version and
 * their size. New members are only ever appended; a reader checks
 * `struct_size` before it touches a member past the first version's layout.
 */
#ifndef LIVEBOT_H
#define LIVEBOT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LIVEBOT_ABI_VERSION 1u
#define LIVEBOT_ENTRY_SYMBOL "livebot_entry"

#if defined(__GNUC__)
#define LIVEBOT_EXPORT __attribute__((visibility("default")))
#else
#define LIVEBOT_EXPORT
#endif

/* Return codes of every function on both sides. */
typedef enum livebot_status {
  LIVEBOT_OK = 0,
  LIVEBOT_ERROR = 1,      /* callback failed: message given via set_error */
  LIVEBOT_BAD_INPUT = 2,  /* an argument or payload did not verify */
  LIVEBOT_NOT_FOUND = 3,  /* load_variable: no such variable */
  LIVEBOT_REFUSED = 4     /* the host will not do this here (e.g. too large) */
} livebot_status;

/* Which callback `call` runs. Values are stable; new ones are appended, and
 * a plugin returns LIVEBOT_OK from one it does not know (docs/ABI.md). */
typedef enum livebot_callback {
  LIVEBOT_CB_CONSTRUCT = 1,         /* once ever, when the instance is created */
  LIVEBOT_CB_INITIALIZE = 2,        /* every execution, before any trigger */
  LIVEBOT_CB_NEW_VERSION = 3,       /* once per bot version */
  LIVEBOT_CB_DESTROY = 4,           /* the instance is being removed */
  LIVEBOT_CB_MEASUREMENTS = 5,      /* device_measurements_updated(device) */
  LIVEBOT_CB_MODE = 6,              /* mode_updated(mode) */
  LIVEBOT_CB_ALERT = 7,             /* device_alert(device, type, params) */
  LIVEBOT_CB_SCHEDULE = 8,          /* schedule_fired(id) */
  LIVEBOT_CB_TIMER = 9,             /* timer_fired(reference) */
  LIVEBOT_CB_DATASTREAM = 10,       /* datastream_updated(address, content) */
  LIVEBOT_CB_DEVICE_ADDED = 11,     /* device_added(device) */
  LIVEBOT_CB_DEVICE_DELETED = 12    /* device_deleted(device) */
} livebot_callback;

/* How a variable's bytes are to be read back. */
typedef enum livebot_value_kind {
  LIVEBOT_VALUE_BYTES = 0,
  LIVEBOT_VALUE_STRING = 1,
  LIVEBOT_VALUE_INT = 2,        /* 8 bytes, little-endian int64 */
  LIVEBOT_VALUE_DOUBLE = 3,     /* 8 bytes, IEEE 754 binary64 */
  LIVEBOT_VALUE_JSON = 4,       /* UTF-8 JSON text */
  LIVEBOT_VALUE_FLATBUFFER = 5  /* a finished FlatBuffer of any table */
} livebot_value_kind;

typedef enum livebot_log_level {
  LIVEBOT_LOG_DEBUG = 1,
  LIVEBOT_LOG_INFO = 2,
  LIVEBOT_LOG_WARN = 3,
  LIVEBOT_LOG_ERROR = 4
} livebot_log_level;

/* Opaque to plugins: one instance inside one execution. */
typedef struct livebot_exec livebot_exec;

/* A borrowed list of strings (pointer + length pairs). */
typedef struct livebot_string {
  const char *data;
  size_t size;
} livebot_string;

/*
 * Services the host offers, valid for the host's whole life. Every function
 * takes the `exec` handed to `open` and may only be called while that
 * instance is open. Bytes the host returns stay valid until the plugin
 * returns from the current `call`/`close`; copy what must live longer.
 */
typedef struct livebot_host_api {
  uint32_t abi_version;
  uint32_t struct_size;

  /* The trigger's time, in ms since the epoch. Fixed within an execution. */
  int64_t (*timestamp_ms)(livebot_exec *exec);

  void (*log)(livebot_exec *exec, int32_t level, const char *msg, size_t len);

  /* `close` hands the instance's new state (a finished FlatBuffer of the
   * declared root table) back here. The host copies it. */
  int32_t (*set_state)(livebot_exec *exec, const uint8_t *data, size_t len);

  /* A failed entry point describes its failure here. The host copies it. */
  void (*set_error)(livebot_exec *exec, const char *msg, size_t len);

  /* Variables: location-wide, apart from microservice state, flushed at the
   * end of the execution. `required` != 0 prefetches the variable with the
   * location's memory on every execution. */
  int32_t (*save_variable)(livebot_exec *exec, const char *name, size_t name_len,
                           int32_t kind, const uint8_t *data, size_t len,
                           int32_t required);
  /* LIVEBOT_OK with kind, data and len set, or LIVEBOT_NOT_FOUND. */
  int32_t (*load_variable)(livebot_exec *exec, const char *name, size_t name_len,
                           int32_t *kind, const uint8_t **data, size_t *len);
  int32_t (*delete_variable)(livebot_exec *exec, const char *name,
                             size_t name_len);

  /* A push/email-style message to the location's people: written to the
   * output directory in playback, to the log in a live host. */
  int32_t (*notify)(livebot_exec *exec, const char *subject, size_t subject_len,
                    const char *body, size_t body_len);

  /* About an hour of one parameter's values for one of the location's
   * devices, oldest first, as a finished livebot.event.History FlatBuffer.
   * LIVEBOT_NOT_FOUND if the location has no such device. */
  int32_t (*device_history)(livebot_exec *exec, const char *device_id,
                            size_t device_id_len, const char *param,
                            size_t param_len, const uint8_t **data,
                            size_t *len);

  /* ---- Appended members: check LIVEBOT_HOST_OFFERS before calling. ---- */

  /* Why the last call through `exec` was refused (a status other than OK or
   * NOT_FOUND), as one line; empty if none was. */
  void (*last_refusal)(livebot_exec *exec, const char **msg, size_t *len);

  /* Timers and alarms (docs/SDK.md, "Timers and alarms"). An instance has at
   * most one timer per reference (the empty one too): setting it again
   * replaces it. When it is due, the instance hears timer_fired(reference) in
   * an execution of its own location timestamped with the due time. A due
   * time is never earlier than 1 ms after the execution setting it.
   * LIVEBOT_BAD_INPUT for a length below 0 or over 366 days, or an alarm more
   * than 366 days from the execution's time; LIVEBOT_REFUSED if the bot does
   * not take timers (trigger 64). */
  int32_t (*start_timer_ms)(livebot_exec *exec, const char *reference,
                            size_t reference_len, int64_t ms);
  int32_t (*set_alarm)(livebot_exec *exec, const char *reference,
                       size_t reference_len, int64_t timestamp_ms);
  /* LIVEBOT_OK with *due_ms set, or LIVEBOT_NOT_FOUND if none is set. */
  int32_t (*timer_due)(livebot_exec *exec, const char *reference,
                       size_t reference_len, int64_t *due_ms);
  /* LIVEBOT_OK if one was cancelled, LIVEBOT_NOT_FOUND if none was set. */
  int32_t (*cancel_timer)(livebot_exec *exec, const char *reference,
                          size_t reference_len);

  /* The location's offset from UTC at `at_ms`, in ms (local time = UTC +
   * offset), from its time zone; UTC for a zone the host does not know. */
  int32_t (*utc_offset_ms)(livebot_exec *exec, int64_t at_ms,
                           int64_t *offset_ms);

  /* A data stream message to the bot's own microservices in this location:
   * each instance hears datastream_updated(address, content) in a later
   * execution of the location, messages in the order they were sent (1 ms
   * after the sending execution's time). Not sent if the sending callback
   * fails. LIVEBOT_REFUSED if the bot does not take data streams (trigger
   * 256) or too many messages wait. */
  int32_t (*send_datastream)(livebot_exec *exec, const char *address,
                             size_t address_len, const char *content,
                             size_t content_len);
} livebot_host_api;

/* Whether a host table has `member`: hosts older than the plugin's headers
 * lack the members appended since. */
#define LIVEBOT_HOST_OFFERS(api, member)                  \
  ((api)->struct_size >= offsetof(livebot_host_api, member) + \
                             sizeof((api)->member))

/* What a plugin exports. All pointers refer to static data in the plugin. */
typedef struct livebot_plugin {
  uint32_t abi_version;  /* LIVEBOT_ABI_VERSION the plugin was built against */
  uint32_t struct_size;  /* sizeof(livebot_plugin) at build time */

  const char *name;            /* the microservice's default manifest name */
  const char *version;         /* the plugin's own version string */
  const char *sdk_version;     /* the SDK that built it */
  const char *state_root_type; /* fully qualified root table of its state */
  const uint8_t *schema;       /* the state's binary schema (.bfbs) */
  size_t schema_size;

  /* Opens an instance for one execution. `state` is empty for a new
   * instance. `new_fields` names the state's fields that the schema which
   * wrote `state` did not have. Returns NULL (after set_error) on failure. */
  void *(*open)(const livebot_host_api *host, livebot_exec *exec,
                const uint8_t *state, size_t state_len,
                const livebot_string *new_fields, size_t new_field_count);

  /* Runs one callback; `event` is a finished livebot.Event FlatBuffer. */
  int32_t (*call)(void *instance, int32_t callback, const uint8_t *event,
                  size_t event_len);

  /* Ends the instance's execution. With `save` != 0 the plugin packs its
   * state and hands it to set_state first. Always frees the instance. */
  int32_t (*close)(void *instance, int32_t save);
} livebot_plugin;

/* The one symbol a plugin exports. The host passes its own ABI version so a
 * plugin may refuse a host it cannot serve by returning NULL. */
typedef const livebot_plugin *(*livebot_entry_fn)(uint32_t host_abi_version);

#ifdef __cplusplus
}
#endif

#endif /* LIVEBOT_H */
