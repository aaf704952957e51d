#include "engine/host_api.hpp"

#include <flatbuffers/flatbuffers.h>
#include <livebot/livebot_event_generated.h>
#include <spdlog/spdlog.h>

namespace livebot::engine {

namespace {

bool valid_name(const char *name, size_t len) { return name && len > 0 && len <= kMaxNameBytes; }

int64_t api_timestamp_ms(livebot_exec *x) { return x->timestamp_ms; }

void api_log(livebot_exec *x, int32_t level, const char *msg, size_t len) {
  if (!msg) return;
  x->executor->log_from_plugin(level, *x->location, *x->instance, std::string_view(msg, std::min(len, size_t(64) << 10)));
}

int32_t api_set_state(livebot_exec *x, const uint8_t *data, size_t len) {
  if (!data || len == 0 || len > kMaxStateBytes) return LIVEBOT_BAD_INPUT;
  std::string bytes(reinterpret_cast<const char *>(data), len);
  if (!x->executor->schema_of(*x->instance).verify(bytes)) return LIVEBOT_BAD_INPUT;
  x->new_state = std::move(bytes);
  return LIVEBOT_OK;
}

void api_set_error(livebot_exec *x, const char *msg, size_t len) {
  x->error.assign(msg ? msg : "", msg ? std::min(len, size_t(64) << 10) : 0);
}

int32_t api_save_variable(livebot_exec *x, const char *name, size_t name_len, int32_t kind, const uint8_t *data,
                          size_t len, int32_t required) {
  if (!valid_name(name, name_len) || (len > 0 && !data)) return LIVEBOT_BAD_INPUT;
  if (kind < LIVEBOT_VALUE_BYTES || kind > LIVEBOT_VALUE_FLATBUFFER) return LIVEBOT_BAD_INPUT;
  if (len > kMaxVariableBytes) return LIVEBOT_REFUSED;
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
  if (!valid_name(name, name_len) || !kind || !data || !len) return LIVEBOT_BAD_INPUT;
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
  if (!valid_name(name, name_len)) return LIVEBOT_BAD_INPUT;
  x->executor->write_variable(*x, std::string(name, name_len), std::nullopt);
  return LIVEBOT_OK;
}

int32_t api_notify(livebot_exec *x, const char *subject, size_t subject_len, const char *body, size_t body_len) {
  if ((subject_len && !subject) || (body_len && !body)) return LIVEBOT_BAD_INPUT;
  if (subject_len + body_len > kMaxNotificationBytes) return LIVEBOT_REFUSED;
  x->notifications.push_back(Notification{x->timestamp_ms, x->location->rec.id, {},
                                          std::string(subject ? subject : "", subject_len),
                                          std::string(body ? body : "", body_len)});
  return LIVEBOT_OK;
}

int32_t api_device_history(livebot_exec *x, const char *device_id, size_t device_id_len, const char *param,
                           size_t param_len, const uint8_t **data, size_t *len) {
  if (!valid_name(device_id, device_id_len) || !valid_name(param, param_len) || !data || !len)
    return LIVEBOT_BAD_INPUT;
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
};

}  // namespace

const livebot_host_api *host_api() { return &kHostApi; }

}  // namespace livebot::engine
