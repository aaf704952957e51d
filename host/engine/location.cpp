#include "engine/location.hpp"

#include <flatbuffers/flatbuffers.h>

#include "common/error.hpp"
#include "device_record_generated.h"

namespace livebot::engine {

namespace fbs = livebot::stored;

std::string DeviceState::encode() const {
  flatbuffers::FlatBufferBuilder fbb(512);
  std::vector<flatbuffers::Offset<fbs::Param>> ps;
  ps.reserve(params.size());
  for (const auto &[k, v] : params) ps.push_back(fbs::CreateParamDirect(fbb, k.c_str(), v.c_str()));
  std::vector<flatbuffers::Offset<fbs::Sample>> hs;
  hs.reserve(history.size());
  for (const auto &s : history)
    hs.push_back(fbs::CreateSampleDirect(fbb, s.timestamp_ms, s.name.c_str(), s.value.c_str()));
  fbb.Finish(fbs::CreateDeviceRecordDirect(fbb, id.c_str(), type, description.c_str(), &ps,
                                           last_measured_ms, &hs));
  return std::string(reinterpret_cast<const char *>(fbb.GetBufferPointer()), fbb.GetSize());
}

DeviceState DeviceState::decode(const store::DeviceRecord &rec, const std::string &where) {
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t *>(rec.record.data()), rec.record.size());
  if (!v.VerifyBuffer<fbs::DeviceRecord>(nullptr)) throw Error(where, "stored device '" + rec.id + "' is corrupt");
  const auto *r = flatbuffers::GetRoot<fbs::DeviceRecord>(rec.record.data());
  DeviceState d;
  d.id = rec.id;
  d.type = r->type();
  if (r->description()) d.description = r->description()->str();
  if (r->params())
    for (const auto *p : *r->params())
      d.params.emplace(p->name()->str(), p->value() ? p->value()->str() : std::string());
  d.last_measured_ms = r->last_measured_ms();
  if (r->history())
    for (const auto *s : *r->history())
      d.history.push_back({s->timestamp_ms(), s->name() ? s->name()->str() : std::string(),
                           s->value() ? s->value()->str() : std::string()});
  return d;
}

}  // namespace livebot::engine
