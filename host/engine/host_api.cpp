#include "engine/host_api.hpp"

#include <flatbuffers/flatbuffers.h>
#include <livebot/livebot_event_generated.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

#include "common/iso_time.hpp"
#include "common/utf8.hpp"

namespace livebot::engine {

namespace {

// Every refusal says why, for the plugin's exception (last_refusal) and so
// for the recorded error.
int32_t refuse(livebot_exec *x, int32_t status, std::string why) {
  x->refusal = std::move(why);
  return status;
}

// Text the host keeps as a name or shows as text later (the store, JSON):
// present if it has a length, valid UTF-8, and for names within bounds.
int32_t check_text(livebot_exec *x, const char *what, const char *text, size_t len) {
  if (len > 0 && !text) return refuse(x, LIVEBOT_BAD_INPUT, std::string("no bytes for ") + what + " of " +
                                                                std::to_string(len) + " bytes");
  if (const size_t at = invalid_utf8_at(std::string_view(text ? text : "", len)); at != std::string_view::npos)
    return refuse(x, LIVEBOT_BAD_INPUT, std::string(what) + " that is not valid UTF-8 (byte " + std::to_string(at) + ")");
  return LIVEBOT_OK;
}

int32_t check_name(livebot_exec *x, const char *what, const char *name, size_t len, size_t min = 1) {
  if (len < min || len > kMaxNameBytes)
    return refuse(x, LIVEBOT_BAD_INPUT, std::string(what) + " of " + std::to_string(len) + " bytes; it takes " +
                                            std::to_string(min) + " to " + std::to_string(kMaxNameBytes));
  return check_text(x, what, name, len);
}

int64_t api_timestamp_ms(livebot_exec *x) { return x->timestamp_ms; }

void api_log(livebot_exec *x, int32_t level, const char *msg, size_t len) {
  if (!msg) return;
  x->executor->log_from_plugin(level, *x->location, *x->instance, std::string_view(msg, std::min(len, size_t(64) << 10)));
}

int32_t api_set_state(livebot_exec *x, const uint8_t *data, size_t len) {
  if (!data || len == 0 || len > kMaxStateBytes)
    return refuse(x, LIVEBOT_BAD_INPUT, "a state of " + std::to_string(len) + " bytes; it takes 1 byte to 64 MiB");
  std::string bytes(reinterpret_cast<const char *>(data), len);
  if (!x->executor->schema_of(*x->instance).verify(bytes))
    return refuse(x, LIVEBOT_BAD_INPUT, "the state does not verify against the plugin's schema");
  x->new_state = std::move(bytes);
  return LIVEBOT_OK;
}

void api_set_error(livebot_exec *x, const char *msg, size_t len) {
  x->error.assign(msg ? msg : "", msg ? std::min(len, size_t(64) << 10) : 0);
}

int32_t api_save_variable(livebot_exec *x, const char *name, size_t name_len, int32_t kind, const uint8_t *data,
                          size_t len, int32_t required) {
  if (const int32_t rc = check_name(x, "a variable name", name, name_len); rc != LIVEBOT_OK) return rc;
  if (len > 0 && !data) return refuse(x, LIVEBOT_BAD_INPUT, "no bytes for a value of " + std::to_string(len));
  if (kind < LIVEBOT_VALUE_BYTES || kind > LIVEBOT_VALUE_FLATBUFFER)
    return refuse(x, LIVEBOT_BAD_INPUT, "unknown value kind " + std::to_string(kind));
  if (len > kMaxVariableBytes)
    return refuse(x, LIVEBOT_REFUSED, "a value of " + std::to_string(len) + " bytes; the limit is 16 MiB");
  if (kind == LIVEBOT_VALUE_STRING || kind == LIVEBOT_VALUE_JSON)
    if (const int32_t rc = check_text(x, "a text value", reinterpret_cast<const char *>(data), len); rc != LIVEBOT_OK)
      return rc;
  std::string key(name, name_len);
  store::VariableRecord v;
  v.name = key;
  v.kind = kind;
  v.value.assign(reinterpret_cast<const char *>(data), len);
  v.required = required != 0;
  x->executor->write_variable(*x, std::move(key), std::move(v));
  return LIVEBOT_OK;
}

int32_t api_load_variable(livebot_exec *x, const char *name, size_t name_len, int32_t *kind, const uint8_t **data,
                          size_t *len) {
  if (const int32_t rc = check_name(x, "a variable name", name, name_len); rc != LIVEBOT_OK) return rc;
  if (!kind || !data || !len) return refuse(x, LIVEBOT_BAD_INPUT, "nowhere to put the value");
  const auto found = x->executor->fetch_variable(*x->location, std::string(name, name_len));
  if (!found) return LIVEBOT_NOT_FOUND;
  // A stable copy: later saves may replace the slot this came from.
  const std::string &held = x->loaded.emplace_back(found->value);
  *kind = found->kind;
  *data = reinterpret_cast<const uint8_t *>(held.data());
  *len = held.size();
  return LIVEBOT_OK;
}

int32_t api_delete_variable(livebot_exec *x, const char *name, size_t name_len) {
  if (const int32_t rc = check_name(x, "a variable name", name, name_len); rc != LIVEBOT_OK) return rc;
  x->executor->write_variable(*x, std::string(name, name_len), std::nullopt);
  return LIVEBOT_OK;
}

int32_t api_notify(livebot_exec *x, const char *subject, size_t subject_len, const char *body, size_t body_len) {
  // Each length alone first: their sum may wrap.
  if (subject_len > kMaxNotificationBytes || body_len > kMaxNotificationBytes ||
      subject_len + body_len > kMaxNotificationBytes)
    return refuse(x, LIVEBOT_REFUSED, "a notification of " + std::to_string(subject_len) + " + " +
                                          std::to_string(body_len) + " bytes; the limit is 1 MiB");
  if (const int32_t rc = check_text(x, "a subject", subject, subject_len); rc != LIVEBOT_OK) return rc;
  if (const int32_t rc = check_text(x, "a body", body, body_len); rc != LIVEBOT_OK) return rc;
  x->notifications.push_back(Notification{x->timestamp_ms, x->location->rec.id, {},
                                          std::string(subject ? subject : "", subject_len),
                                          std::string(body ? body : "", body_len)});
  return LIVEBOT_OK;
}

int32_t api_device_history(livebot_exec *x, const char *device_id, size_t device_id_len, const char *param,
                           size_t param_len, const uint8_t **data, size_t *len) {
  if (const int32_t rc = check_name(x, "a device id", device_id, device_id_len); rc != LIVEBOT_OK) return rc;
  if (const int32_t rc = check_name(x, "a parameter name", param, param_len); rc != LIVEBOT_OK) return rc;
  if (!data || !len) return refuse(x, LIVEBOT_BAD_INPUT, "nowhere to put the history");
  const auto it = x->location->devices.find(std::string_view(device_id, device_id_len));
  if (it == x->location->devices.end()) return LIVEBOT_NOT_FOUND;
  const std::string_view name(param, param_len);
  flatbuffers::FlatBufferBuilder fbb(256);
  std::vector<flatbuffers::Offset<event::Sample>> samples;
  for (const auto &s : it->second.history)
    if (s.name == name) samples.push_back(event::CreateSampleDirect(fbb, s.timestamp_ms, s.value.c_str()));
  fbb.Finish(event::CreateHistory(fbb, fbb.CreateString(it->second.id), fbb.CreateString(name.data(), name.size()),
                                  fbb.CreateVector(samples)));
  const std::string &held =
      x->loaded.emplace_back(reinterpret_cast<const char *>(fbb.GetBufferPointer()), fbb.GetSize());
  *data = reinterpret_cast<const uint8_t *>(held.data());
  *len = held.size();
  return LIVEBOT_OK;
}

void api_last_refusal(livebot_exec *x, const char **msg, size_t *len) {
  if (msg) *msg = x->refusal.data();
  if (len) *len = x->refusal.size();
}

// The timer `reference` names for the calling instance, or a refusal.
int32_t timer_key(livebot_exec *x, const char *reference, size_t len, TimerKey &key) {
  if (const int32_t rc = check_name(x, "a reference", reference, len, 0); rc != LIVEBOT_OK) return rc;
  key = TimerKey{x->instance->instance_id, std::string(reference ? reference : "", len)};
  return LIVEBOT_OK;
}

int32_t set_timer(livebot_exec *x, const char *reference, size_t len, int64_t due_ms) {
  TimerKey key;
  if (const int32_t rc = timer_key(x, reference, len, key); rc != LIVEBOT_OK) return rc;
  if (!(x->executor->bot().manifest().triggers & kTriggerTimer))
    return refuse(x, LIVEBOT_REFUSED, "the bot does not take timers: add 64 to its triggers in bot.json");
  const auto &timers = x->location->timers;
  if (!timers.count(key)) {
    const auto first = timers.lower_bound(TimerKey{key.instance_id, {}});
    const auto end = timers.lower_bound(TimerKey{key.instance_id + 1, {}});
    if (static_cast<size_t>(std::distance(first, end)) >= kMaxTimersPerInstance)
      return refuse(x, LIVEBOT_REFUSED, "the instance already has " + std::to_string(kMaxTimersPerInstance) +
                                            " timers set; cancel some first");
  }
  // Never due in the execution that sets it: virtual time always moves on.
  x->executor->write_timer(*x, std::move(key), std::max(due_ms, x->timestamp_ms + 1));
  return LIVEBOT_OK;
}

int32_t api_start_timer_ms(livebot_exec *x, const char *reference, size_t len, int64_t ms) {
  if (ms < 0 || ms > kMaxTimerMs)
    return refuse(x, LIVEBOT_BAD_INPUT, "a timer of " + std::to_string(ms) + " ms; timers run from 0 ms to 366 days");
  return set_timer(x, reference, len, x->timestamp_ms + ms);
}

int32_t api_set_alarm(livebot_exec *x, const char *reference, size_t len, int64_t timestamp_ms) {
  const int64_t now = x->timestamp_ms;
  if (timestamp_ms < now - kMaxTimerMs || timestamp_ms > now + kMaxTimerMs)
    return refuse(x, LIVEBOT_BAD_INPUT, "an alarm at " + iso_time(timestamp_ms) + " is more than 366 days " +
                                            (timestamp_ms < now ? "before" : "after") + " the execution's time (" +
                                            iso_time(now) + ")");
  return set_timer(x, reference, len, timestamp_ms);
}

int32_t api_timer_due(livebot_exec *x, const char *reference, size_t len, int64_t *due_ms) {
  TimerKey key;
  if (const int32_t rc = timer_key(x, reference, len, key); rc != LIVEBOT_OK) return rc;
  if (!due_ms) return refuse(x, LIVEBOT_BAD_INPUT, "nowhere to put the due time");
  const auto it = x->location->timers.find(key);
  if (it == x->location->timers.end()) return LIVEBOT_NOT_FOUND;
  *due_ms = it->second;
  return LIVEBOT_OK;
}

int32_t api_cancel_timer(livebot_exec *x, const char *reference, size_t len) {
  TimerKey key;
  if (const int32_t rc = timer_key(x, reference, len, key); rc != LIVEBOT_OK) return rc;
  if (!x->location->timers.count(key)) return LIVEBOT_NOT_FOUND;
  x->executor->write_timer(*x, std::move(key), std::nullopt);
  return LIVEBOT_OK;
}

int32_t api_utc_offset_ms(livebot_exec *x, int64_t at_ms, int64_t *offset_ms) {
  if (!offset_ms) return refuse(x, LIVEBOT_BAD_INPUT, "nowhere to put the offset");
  *offset_ms = x->executor->utc_offset_ms(*x->location, at_ms);
  return LIVEBOT_OK;
}

int32_t api_send_datastream(livebot_exec *x, const char *address, size_t address_len, const char *content,
                            size_t content_len) {
  if (const int32_t rc = check_name(x, "an address", address, address_len); rc != LIVEBOT_OK) return rc;
  if (content_len && !content) return refuse(x, LIVEBOT_BAD_INPUT, "no bytes for the content");
  if (content_len > kMaxDataStreamBytes)
    return refuse(x, LIVEBOT_REFUSED, "content of " + std::to_string(content_len) + " bytes; the limit is 1 MiB");
  if (!(x->executor->bot().manifest().triggers & kTriggerDataStream))
    return refuse(x, LIVEBOT_REFUSED, "the bot does not take data streams: add 256 to its triggers in bot.json");
  if (x->location->streams.size() + x->streams.size() >= kMaxQueuedDataStreams)
    return refuse(x, LIVEBOT_REFUSED, std::to_string(kMaxQueuedDataStreams) + " messages already wait in this location");
  // Never delivered in the execution that sends it: virtual time moves on.
  x->streams.push_back({0, x->timestamp_ms + 1, std::string(address, address_len),
                        std::string(content ? content : "", content_len)});
  return LIVEBOT_OK;
}

const livebot_host_api kHostApi = {
    LIVEBOT_ABI_VERSION,
    sizeof(livebot_host_api),
    api_timestamp_ms,
    api_log,
    api_set_state,
    api_set_error,
    api_save_variable,
    api_load_variable,
    api_delete_variable,
    api_notify,
    api_device_history,
    api_last_refusal,
    api_start_timer_ms,
    api_set_alarm,
    api_timer_due,
    api_cancel_timer,
    api_utc_offset_ms,
    api_send_datastream,
};

}  // namespace

const livebot_host_api *host_api() { return &kHostApi; }

}  // namespace livebot::engine
