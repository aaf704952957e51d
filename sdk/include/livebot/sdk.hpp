// livebot/sdk.hpp — write a microservice as one C++ class.
//
//   #include <livebot/sdk.hpp>
//   #include "state_generated.h"
//   #include "state_bfbs_generated.h"
//
//   class Memory : public livebot::Microservice<my::StateT> {
//     void mode_updated(std::string_view mode) override { state().modes++; }
//   };
//   LIVEBOT_MICROSERVICE(Memory, "memory", "1.0.0", my::StateBinarySchema)
//
// The class is created for each execution around the instance's stored
// state and destroyed at its end: keep nothing in it but `state()`. The shim
// below is the only code that faces the C ABI; it catches every exception at
// every entry point and hands the host a copied message instead.
#pragma once

#include <flatbuffers/flatbuffers.h>
#include <livebot/livebot.h>
#include <livebot/livebot_event_generated.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#define LIVEBOT_SDK_VERSION "0.2.0"  // 0.2: timers, alarms, data streams, zone offsets

namespace livebot {

namespace detail {
inline std::string_view view(const flatbuffers::String *s) {
  return s ? std::string_view(s->data(), s->size()) : std::string_view();
}
}  // namespace detail

// A device as seen in one callback. A view into the event: valid only until
// the callback returns.
class Device {
 public:
  explicit Device(const event::Device *d) : d_(d) {}

  std::string_view id() const { return detail::view(d_ ? d_->id() : nullptr); }
  int32_t type() const { return d_ ? d_->type() : 0; }
  std::string_view description() const { return detail::view(d_ ? d_->description() : nullptr); }
  int64_t last_measured_ms() const { return d_ ? d_->last_measured_ms() : 0; }

  // The latest value of a parameter, if the device has reported it.
  std::optional<std::string_view> param(std::string_view name) const {
    if (!d_ || !d_->params()) return std::nullopt;
    const auto *p = d_->params()->LookupByKey(std::string(name).c_str());
    if (!p) return std::nullopt;
    return detail::view(p->value());
  }
  std::optional<double> param_double(std::string_view name) const;
  std::optional<int64_t> param_int(std::string_view name) const;

  // Whether this measurement changed the parameter.
  bool is_updated(std::string_view name) const {
    if (!d_ || !d_->updated()) return false;
    for (const auto *u : *d_->updated())
      if (detail::view(u) == name) return true;
    return false;
  }
  std::vector<std::string_view> updated_params() const {
    std::vector<std::string_view> out;
    if (d_ && d_->updated())
      for (const auto *u : *d_->updated()) out.push_back(detail::view(u));
    return out;
  }

  explicit operator bool() const { return d_ != nullptr; }

 private:
  const event::Device *d_;
};

inline std::optional<double> Device::param_double(std::string_view name) const {
  const auto v = param(name);
  if (!v) return std::nullopt;
  const std::string s(*v);
  char *end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (end == s.c_str()) return std::nullopt;
  return d;
}

inline std::optional<int64_t> Device::param_int(std::string_view name) const {
  const auto d = param_double(name);
  if (!d) return std::nullopt;
  return static_cast<int64_t>(*d);
}

// A variable read back from the protected space.
struct Variable {
  livebot_value_kind kind;
  std::string_view bytes;  // valid until the current callback returns

  std::string as_string() const { return std::string(bytes); }
  std::optional<int64_t> as_int() const {
    if (kind != LIVEBOT_VALUE_INT || bytes.size() != 8) return std::nullopt;
    int64_t v;
    std::memcpy(&v, bytes.data(), 8);
    return v;
  }
  std::optional<double> as_double() const {
    if (kind != LIVEBOT_VALUE_DOUBLE || bytes.size() != 8) return std::nullopt;
    double v;
    std::memcpy(&v, bytes.data(), 8);
    return v;
  }
  // The root of a stored FlatBuffer, verified first.
  template <class Table>
  const Table *as_table() const {
    if (kind != LIVEBOT_VALUE_FLATBUFFER) return nullptr;
    flatbuffers::Verifier v(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
    if (!v.VerifyBuffer<Table>(nullptr)) return nullptr;
    return flatbuffers::GetRoot<Table>(bytes.data());
  }
};

// What a microservice can ask of the host, bound to one open instance.
class Host {
 public:
  Host(const livebot_host_api *api, livebot_exec *exec) : api_(api), exec_(exec) {}

  int64_t timestamp_ms() const { return api_->timestamp_ms(exec_); }

  void log(livebot_log_level level, std::string_view msg) const {
    api_->log(exec_, level, msg.data(), msg.size());
  }

  void save_variable(std::string_view name, livebot_value_kind kind, std::string_view bytes,
                     bool required_for_each_execution = false) const {
    check(api_->save_variable(exec_, name.data(), name.size(), kind,
                              reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size(),
                              required_for_each_execution ? 1 : 0),
          "save_variable", name);
  }
  void save_variable(std::string_view name, std::string_view text, bool required = false) const {
    save_variable(name, LIVEBOT_VALUE_STRING, text, required);
  }
  void save_variable(std::string_view name, const char *text, bool required = false) const {
    save_variable(name, LIVEBOT_VALUE_STRING, std::string_view(text), required);
  }
  template <class Int, std::enable_if_t<std::is_integral_v<Int> && !std::is_same_v<Int, bool>, int> = 0>
  void save_variable(std::string_view name, Int value, bool required = false) const {
    const int64_t v = static_cast<int64_t>(value);
    save_variable(name, LIVEBOT_VALUE_INT, std::string_view(reinterpret_cast<const char *>(&v), 8),
                  required);
  }
  void save_variable(std::string_view name, double value, bool required = false) const {
    save_variable(name, LIVEBOT_VALUE_DOUBLE,
                  std::string_view(reinterpret_cast<const char *>(&value), 8), required);
  }
  void save_json(std::string_view name, std::string_view json, bool required = false) const {
    save_variable(name, LIVEBOT_VALUE_JSON, json, required);
  }
  // Any FlatBuffers table, built with the plugin's own builder.
  void save_table(std::string_view name, const flatbuffers::FlatBufferBuilder &fbb,
                  bool required = false) const {
    save_variable(name, LIVEBOT_VALUE_FLATBUFFER,
                  std::string_view(reinterpret_cast<const char *>(fbb.GetBufferPointer()),
                                   fbb.GetSize()),
                  required);
  }

  std::optional<Variable> load_variable(std::string_view name) const {
    int32_t kind = 0;
    const uint8_t *data = nullptr;
    size_t len = 0;
    const int32_t rc = api_->load_variable(exec_, name.data(), name.size(), &kind, &data, &len);
    if (rc == LIVEBOT_NOT_FOUND) return std::nullopt;
    check(rc, "load_variable", name);
    return Variable{static_cast<livebot_value_kind>(kind),
                    std::string_view(reinterpret_cast<const char *>(data), len)};
  }

  void delete_variable(std::string_view name) const {
    check(api_->delete_variable(exec_, name.data(), name.size()), "delete_variable", name);
  }

  void notify(std::string_view subject, std::string_view body) const {
    check(api_->notify(exec_, subject.data(), subject.size(), body.data(), body.size()), "notify", subject);
  }

  // About an hour of one parameter of one of the location's devices, oldest
  // first; empty if the device is unknown.
  std::vector<std::pair<int64_t, std::string>> device_history(std::string_view device_id,
                                                              std::string_view param) const {
    const uint8_t *data = nullptr;
    size_t len = 0;
    std::vector<std::pair<int64_t, std::string>> out;
    const int32_t rc =
        api_->device_history(exec_, device_id.data(), device_id.size(), param.data(), param.size(), &data, &len);
    if (rc == LIVEBOT_NOT_FOUND) return out;
    check(rc, "device_history", device_id);
    flatbuffers::Verifier v(data, len);
    if (!v.VerifyBuffer<event::History>(nullptr)) throw std::runtime_error("device_history: reply does not verify");
    if (const auto *samples = flatbuffers::GetRoot<event::History>(data)->samples())
      for (const auto *smp : *samples) out.emplace_back(smp->timestamp_ms(), std::string(detail::view(smp->value())));
    return out;
  }

  // Timers and alarms: one per reference for this instance, "" included;
  // setting one again replaces it. timer_fired(reference) comes in an
  // execution of its own, timestamped with the due time.
  void start_timer_ms(int64_t ms, std::string_view reference = {}) const {
    need(LIVEBOT_HOST_OFFERS(api_, start_timer_ms), "start_timer_ms");
    check(api_->start_timer_ms(exec_, reference.data(), reference.size(), ms), "start_timer_ms", reference);
  }
  void start_timer_s(int64_t seconds, std::string_view reference = {}) const {
    // Out-of-range lengths reach the host as such, and it refuses them.
    constexpr int64_t limit = INT64_MAX / 1000;
    start_timer_ms(seconds > limit ? INT64_MAX : seconds < -limit ? INT64_MIN : seconds * 1000, reference);
  }
  // Due at an absolute time (ms since the epoch); one slightly in the past
  // fires at the next opportunity.
  void set_alarm(int64_t timestamp_ms, std::string_view reference = {}) const {
    need(LIVEBOT_HOST_OFFERS(api_, set_alarm), "set_alarm");
    check(api_->set_alarm(exec_, reference.data(), reference.size(), timestamp_ms), "set_alarm", reference);
  }
  std::optional<int64_t> timer_due(std::string_view reference = {}) const {
    need(LIVEBOT_HOST_OFFERS(api_, timer_due), "timer_due");
    int64_t due = 0;
    const int32_t rc = api_->timer_due(exec_, reference.data(), reference.size(), &due);
    if (rc == LIVEBOT_NOT_FOUND) return std::nullopt;
    check(rc, "timer_due", reference);
    return due;
  }
  bool is_timer_running(std::string_view reference = {}) const { return timer_due(reference).has_value(); }
  // True if a timer was set and is now cancelled.
  bool cancel_timers(std::string_view reference = {}) const {
    need(LIVEBOT_HOST_OFFERS(api_, cancel_timer), "cancel_timers");
    const int32_t rc = api_->cancel_timer(exec_, reference.data(), reference.size());
    if (rc == LIVEBOT_NOT_FOUND) return false;
    check(rc, "cancel_timers", reference);
    return true;
  }

  // To the bot's own microservices in this location: datastream_updated in
  // a later execution, in the order sent; dropped if this callback fails.
  void send_datastream(std::string_view address, std::string_view content) const {
    need(LIVEBOT_HOST_OFFERS(api_, send_datastream), "send_datastream");
    check(api_->send_datastream(exec_, address.data(), address.size(), content.data(), content.size()),
          "send_datastream", address);
  }

  // The location's offset from UTC at an instant: local = UTC + offset.
  int64_t utc_offset_ms(int64_t at_ms) const {
    need(LIVEBOT_HOST_OFFERS(api_, utc_offset_ms), "utc_offset_ms");
    int64_t offset = 0;
    check(api_->utc_offset_ms(exec_, at_ms, &offset), "utc_offset_ms", {});
    return offset;
  }
  // The first local midnight after `at_ms`, in UTC ms.
  int64_t next_local_midnight_ms(int64_t at_ms) const {
    constexpr int64_t day = 24 * 3600 * 1000;
    const int64_t local = at_ms + utc_offset_ms(at_ms);
    const int64_t midnight = (local / day - (local % day < 0 ? 1 : 0) + 1) * day;  // local wall time
    // The offset at midnight may differ from now's (a clock change between).
    const int64_t guess = midnight - utc_offset_ms(at_ms);
    return midnight - utc_offset_ms(guess);
  }

  const livebot_host_api *api() const { return api_; }
  livebot_exec *exec() const { return exec_; }

 private:
  // Host services appended after ABI 1's first layout are missing from older
  // hosts.
  static void need(bool offered, const char *what) {
    if (!offered) throw std::runtime_error(std::string(what) + ": this host is older than the SDK and does not offer it");
  }

  void check(int32_t rc, const char *what, std::string_view name) const {
    if (rc == LIVEBOT_OK) return;
    std::string msg = std::string(what) + "('" + std::string(name) + "') refused by the host";
    const char *why = nullptr;
    size_t len = 0;
    if (LIVEBOT_HOST_OFFERS(api_, last_refusal)) api_->last_refusal(exec_, &why, &len);
    if (len > 0) msg += ": " + std::string(why, len);
    else msg += " (status " + std::to_string(rc) + ")";
    throw std::runtime_error(msg);
  }

  const livebot_host_api *api_;
  livebot_exec *exec_;
};

// The base a microservice derives from. `StateT` is the object-API type
// flatc generates for the state's root table (`--gen-object-api`).
template <class StateT>
class Microservice {
 public:
  using State = StateT;
  using StateTable = typename StateT::TableType;

  virtual ~Microservice() = default;

  // Once ever, when the instance is first created (botengine's __init__).
  virtual void construct() {}
  // At the start of every execution, before any trigger.
  virtual void initialize() {}
  // Once, in the first execution of a new bot version.
  virtual void new_version() {}
  // The instance is being removed: its state is deleted after this.
  virtual void destroy() {}

  virtual void device_measurements_updated(const Device &) {}
  virtual void mode_updated(std::string_view) {}
  virtual void device_alert(const Device &, std::string_view /*alert_type*/,
                            const flatbuffers::Vector<flatbuffers::Offset<event::Param>> *) {}
  virtual void schedule_fired(std::string_view) {}
  virtual void timer_fired(std::string_view) {}
  virtual void datastream_updated(std::string_view /*address*/, std::string_view /*content*/) {}
  virtual void device_added(const Device &) {}
  virtual void device_deleted(const Device &) {}

  // --- what a callback can use ---

  State &state() { return state_; }
  const Host &host() const { return *host_; }

  // Fields of the state that the schema which wrote the stored state did not
  // have: initialise them here, once (the counterpart of `hasattr`).
  const std::vector<std::string> &new_fields() const { return new_fields_; }
  bool is_new_field(std::string_view name) const {
    for (const auto &f : new_fields_)
      if (f == name) return true;
    return false;
  }

  // The trigger's time; fixed within an execution.
  int64_t timestamp_ms() const { return host_->timestamp_ms(); }
  std::string_view location_id() const { return detail::view(location() ? location()->id() : nullptr); }
  std::string_view mode() const { return detail::view(location() ? location()->mode() : nullptr); }
  // For device microservices: the instance's own device.
  Device device() const { return Device(event_ ? event_->device() : nullptr); }

  void log_debug(std::string_view m) const { host_->log(LIVEBOT_LOG_DEBUG, m); }
  void log_info(std::string_view m) const { host_->log(LIVEBOT_LOG_INFO, m); }
  void log_warn(std::string_view m) const { host_->log(LIVEBOT_LOG_WARN, m); }
  void log_error(std::string_view m) const { host_->log(LIVEBOT_LOG_ERROR, m); }

 private:
  const event::Location *location() const { return event_ ? event_->location() : nullptr; }

  template <class>
  friend struct Shim;

  State state_;
  std::optional<Host> host_;
  std::vector<std::string> new_fields_;
  const event::Event *event_ = nullptr;
};

// The C entry points for one microservice class.
template <class Impl>
struct Shim {
  using StateT = typename Impl::State;
  using Table = typename Impl::StateTable;

  static void fail(const livebot_host_api *api, livebot_exec *exec, std::string_view msg) {
    api->set_error(exec, msg.data(), msg.size());
  }

  template <class F>
  static int32_t guarded(const livebot_host_api *api, livebot_exec *exec, F &&f) {
    try {
      return f();
    } catch (const std::exception &e) {
      fail(api, exec, e.what());
    } catch (...) {
      fail(api, exec, "unknown exception");
    }
    return LIVEBOT_ERROR;
  }

  static void *open(const livebot_host_api *api, livebot_exec *exec, const uint8_t *state,
                    size_t state_len, const livebot_string *new_fields, size_t n_new) {
    Impl *impl = nullptr;
    const int32_t rc = guarded(api, exec, [&]() -> int32_t {
      auto owned = std::make_unique<Impl>();
      owned->host_.emplace(api, exec);
      if (state_len > 0) {
        flatbuffers::Verifier v(state, state_len);
        if (!v.VerifyBuffer<Table>(nullptr)) {
          fail(api, exec, "stored state does not verify against this plugin's schema");
          return LIVEBOT_BAD_INPUT;
        }
        flatbuffers::GetRoot<Table>(state)->UnPackTo(&owned->state_);
      }
      for (size_t i = 0; i < n_new; ++i)
        owned->new_fields_.emplace_back(new_fields[i].data, new_fields[i].size);
      impl = owned.release();
      return LIVEBOT_OK;
    });
    return rc == LIVEBOT_OK ? impl : nullptr;
  }

  static int32_t call(void *instance, int32_t callback, const uint8_t *event, size_t event_len) {
    Impl &self = *static_cast<Impl *>(instance);
    const Host &h = *self.host_;
    return guarded(h.api(), h.exec(), [&]() -> int32_t {
      flatbuffers::Verifier v(event, event_len);
      if (!v.VerifyBuffer<event::Event>(nullptr)) {
        fail(h.api(), h.exec(), "event payload does not verify");
        return LIVEBOT_BAD_INPUT;
      }
      const auto *ev = flatbuffers::GetRoot<event::Event>(event);
      self.event_ = ev;
      dispatch(self, callback, *ev);
      return LIVEBOT_OK;
    });
  }

  static void dispatch(Impl &self, int32_t callback, const event::Event &ev) {
    using event::Payload;
    switch (callback) {
      case LIVEBOT_CB_CONSTRUCT: self.construct(); break;
      case LIVEBOT_CB_INITIALIZE: self.initialize(); break;
      case LIVEBOT_CB_NEW_VERSION: self.new_version(); break;
      case LIVEBOT_CB_DESTROY: self.destroy(); break;
      case LIVEBOT_CB_MEASUREMENTS:
        if (const auto *m = ev.payload_as_Measurements()) self.device_measurements_updated(Device(m->device()));
        break;
      case LIVEBOT_CB_MODE:
        if (const auto *m = ev.payload_as_ModeChange()) self.mode_updated(detail::view(m->mode()));
        break;
      case LIVEBOT_CB_ALERT:
        if (const auto *a = ev.payload_as_Alert())
          self.device_alert(Device(a->device()), detail::view(a->alert_type()), a->params());
        break;
      case LIVEBOT_CB_SCHEDULE:
        if (const auto *s = ev.payload_as_Schedule()) self.schedule_fired(detail::view(s->id()));
        break;
      case LIVEBOT_CB_TIMER:
        if (const auto *t = ev.payload_as_Timer()) self.timer_fired(detail::view(t->reference()));
        break;
      case LIVEBOT_CB_DATASTREAM:
        if (const auto *d = ev.payload_as_DataStream())
          self.datastream_updated(detail::view(d->address()), detail::view(d->content()));
        break;
      case LIVEBOT_CB_DEVICE_ADDED:
        if (const auto *d = ev.payload_as_DeviceChange()) self.device_added(Device(d->device()));
        break;
      case LIVEBOT_CB_DEVICE_DELETED:
        if (const auto *d = ev.payload_as_DeviceChange()) self.device_deleted(Device(d->device()));
        break;
      default:
        break;  // appended after this SDK: not this plugin's to hear (docs/ABI.md)
    }
  }

  static int32_t close(void *instance, int32_t save) {
    std::unique_ptr<Impl> self(static_cast<Impl *>(instance));
    const Host h = *self->host_;
    if (!save) return LIVEBOT_OK;
    return guarded(h.api(), h.exec(), [&]() -> int32_t {
      flatbuffers::FlatBufferBuilder fbb(256);
      fbb.Finish(Table::Pack(fbb, &self->state_));
      return h.api()->set_state(h.exec(), fbb.GetBufferPointer(), fbb.GetSize());
    });
  }
};

}  // namespace livebot

// Exports a microservice class. `SCHEMA` is the `<Root>BinarySchema` struct
// that `flatc --bfbs-gen-embed` generates for the state's schema.
#define LIVEBOT_MICROSERVICE(CLASS, NAME, VERSION, SCHEMA)                          \
  extern "C" LIVEBOT_EXPORT const livebot_plugin *livebot_entry(uint32_t host_abi) { \
    if (host_abi < 1) return nullptr;                                               \
    static const livebot_plugin table = {                                           \
        LIVEBOT_ABI_VERSION,                                                        \
        sizeof(livebot_plugin),                                                     \
        NAME,                                                                       \
        VERSION,                                                                    \
        LIVEBOT_SDK_VERSION,                                                        \
        CLASS::StateTable::GetFullyQualifiedName(),                                 \
        SCHEMA::data(),                                                             \
        SCHEMA::size(),                                                             \
        &::livebot::Shim<CLASS>::open,                                              \
        &::livebot::Shim<CLASS>::call,                                              \
        &::livebot::Shim<CLASS>::close,                                             \
    };                                                                              \
    return &table;                                                                  \
  }
