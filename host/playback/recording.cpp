// Reads botengine recordings (see recording.hpp). Rows are read with
// simdjson's on-demand API: it builds no document tree, which about halves the
// time for the 28 MB recording. The parts it has no use for are checked as
// JSON one by one. Once something is wrong, the DOM parser checks the whole
// text, so "not JSON" is told apart from a bad row.
#include "playback/recording.hpp"

#include <nlohmann/json.hpp>
#include <simdjson.h>
#include <zip.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <memory>
#include <unordered_map>

#include "common/error.hpp"
#include "common/hash.hpp"

namespace livebot::playback {
namespace {

namespace od = simdjson::ondemand;

// Where in the document a value is, for messages: a row, or location_info.
struct Place {
  int64_t row = -1;  // Row::index: positions in `data`, from 0
  std::string str() const { return row < 0 ? "location_info" : "row " + std::to_string(row); }
};

// Keeps nothing but where the first syntax error is.
struct FirstError : nlohmann::json_sax<nlohmann::json> {
  bool failed = false;
  size_t position = 0;  // 1-based: the character that made the text invalid
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t &) override { return true; }
  bool string(string_t &) override { return true; }
  bool binary(binary_t &) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t &) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t at, const std::string &, const nlohmann::detail::exception &) override {
    failed = true;
    position = at;
    return false;
  }
};

// Reads values and reports errors with their place.
class Reader {
 public:
  Reader(const simdjson::padded_string_view &json, const std::string &where)
      : json_(json), where_(where) {}

  // On demand reads only what it needs; the DOM parser validates it all.
  // Used only once something is wrong, to say whether the text is JSON.
  simdjson::error_code validate() const {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    return parser.parse(json_.data(), json_.size(), false).get(doc);
  }
  [[noreturn]] void invalid(simdjson::error_code error) const {
    if (auto dom_error = validate()) error = dom_error;
    throw Error(where_, "not valid JSON" + position_of_error() + ": " + simdjson::error_message(error));
  }
  // " at line L, column C" of the first syntax error, or "" if none is found.
  // simdjson does not say where; nlohmann's SAX parser does, and on this
  // path only speed does not matter.
  std::string position_of_error() const {
    const std::string_view text(json_.data(), json_.size());
    FirstError sax;
    nlohmann::json::sax_parse(text.begin(), text.end(), &sax);
    if (!sax.failed) return {};
    const size_t at = std::min(sax.position > 0 ? sax.position - 1 : 0, text.size());
    const std::string_view before = text.substr(0, at);
    const auto line = 1 + std::count(before.begin(), before.end(), '\n');
    const size_t newline = before.rfind('\n');
    const std::string_view in_line = before.substr(newline == std::string_view::npos ? 0 : newline + 1);
    // In characters, as an editor counts: UTF-8 continuation bytes are not.
    const auto column = 1 + std::count_if(in_line.begin(), in_line.end(),
                                          [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; });
    return " at line " + std::to_string(line) + ", column " + std::to_string(column);
  }
  // A value the reader has no use for, checked all the same: on demand
  // passes over it by its brackets alone, and a recording with a syntax
  // error anywhere is not JSON.
  void skip(od::value &value) const {
    switch (get(value.type())) {
      case od::json_type::object: return check_whole(get(get(value.get_object()).raw_json()));
      case od::json_type::array: return check_whole(get(get(value.get_array()).raw_json()));
      case od::json_type::string: get(value.get_string()); return;
      case od::json_type::boolean: get(value.get_bool()); return;
      case od::json_type::null:
        if (!get(value.is_null())) invalid(simdjson::N_ATOM_ERROR);
        return;
      case od::json_type::number: get(value.get_double()); return;  // any size of number reads as a double
    }
  }
  [[noreturn]] void fail(Place place, const std::string &what) const {
    throw Error(where_, place.str() + ": " + what);
  }
  template <typename T>
  T get(simdjson::simdjson_result<T> &&result) const {
    T value;
    if (auto error = std::move(result).get(value)) invalid(error);
    return value;
  }

  // The text of a value into `out`. Values are strings, but a number is taken
  // as its JSON text; null counts as an absent column (returns false).
  bool text(od::value &value, std::string &out, Place place, std::string_view column) const {
    switch (get(value.type())) {
      case od::json_type::string: out.assign(get(value.get_string())); return true;
      case od::json_type::number: {
        std::string_view token = value.raw_json_token();  // the token and spaces after it
        get(value.get_number());                           // only to validate it
        out.assign(token.substr(0, token.find_last_not_of(" \t\r\n") + 1));
        return true;
      }
      case od::json_type::null: get(value.is_null()); return false;
      default:
        // Its first byte said true, false, [ or {; but "tru" is no JSON at all.
        if (auto error = validate()) invalid(error);
        fail(place, std::string(column) + " is not a string or a number");
    }
  }

 private:
  void check_whole(std::string_view raw) const {
    simdjson::dom::element ignored;
    if (auto error = skipped_.parse(raw.data(), raw.size(), true).get(ignored)) invalid(error);
  }

  const simdjson::padded_string_view &json_;
  const std::string &where_;
  mutable simdjson::dom::parser skipped_;  // reused: the skipped parts are checked one by one
};

// What a row's column is: one of the fixed columns, or a device parameter.
enum class Column {
  Param, Trigger, LocationId, TimestampMs, Ignored, DeviceType, DeviceId,
  Description, UpdatedParams, Event, AlertType,
};

struct Key {
  Column column;
  std::string_view name;  // interned (parameters live in Recording::names)
  bool plain;             // no quote or backslash: comparable to the raw JSON key
  Key *next = nullptr;    // the key that followed this one last time
};

// Maps column names to what they are, interning parameter names as they come:
// a recording has a few dozen names and hundreds of thousands of uses.
class Columns {
 public:
  explicit Columns(std::deque<std::string> &names) : names_(names) {
    for (auto [name, column] : {
             std::pair{"trigger", Column::Trigger},
             {"location_id", Column::LocationId},
             {"timestamp_ms", Column::TimestampMs},
             {"timestamp_iso", Column::Ignored},
             {"timestamp_excel", Column::Ignored},
             {"source_type", Column::Ignored},
             {"device_type", Column::DeviceType},
             {"device_id", Column::DeviceId},
             {"description", Column::Description},
             {"updated_params", Column::UpdatedParams},
             {"event", Column::Event},
             {"alert_type", Column::AlertType},
         }) {
      keys_.emplace(name, Key{column, name, true});
    }
  }

  Key &operator[](std::string_view name) {
    if (auto it = keys_.find(name); it != keys_.end()) return it->second;
    std::string_view stored = names_.emplace_back(name);
    bool plain = stored.find_first_of("\"\\") == std::string_view::npos;
    return keys_.emplace(stored, Key{Column::Param, stored, plain}).first->second;
  }

  // Rows repeat their columns in the same order, so the previous key's
  // successor is nearly always the answer and no hashing is needed.
  Key &find(const Reader &in, od::field &field, Key *previous) {
    Key *&guess = previous ? previous->next : first_;
    if (!guess || !guess->plain || !field.key().unsafe_is_equal(guess->name)) {
      guess = &(*this)[in.get(field.unescaped_key())];
    }
    return *guess;
  }

 private:
  std::deque<std::string> &names_;  // a deque never moves what it holds
  std::unordered_map<std::string_view, Key> keys_;  // nodes: stable addresses
  Key *first_ = nullptr;
};

template <typename T>
bool parse_integer(std::string_view text, T &out) {
  auto res = std::from_chars(text.data(), text.data() + text.size(), out);
  return res.ec == std::errc() && res.ptr == text.data() + text.size();
}

// Mode rows sometimes carry the mode wrapped in extra double quotes.
std::string unquote(std::string_view s) {
  while (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
    s = s.substr(1, s.size() - 2);
  }
  return std::string(s);
}

void split_names(std::string_view list, Columns &columns,
                 std::vector<std::string_view> &out) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view name = list.substr(0, comma);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (!name.empty()) out.push_back(columns[name].name);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

void read_location_info(const Reader &in, od::value &value, Recording &rec) {
  const Place place;
  if (in.get(value.type()) != od::json_type::object) in.fail(place, "not an object");
  for (auto item : in.get(value.get_object())) {
    od::field field = in.get(std::move(item));
    std::string_view key = in.get(field.unescaped_key());
    if (key == "id") {
      in.text(field.value(), rec.location_id, place, "id");
    } else if (key == "event") {
      std::string event;
      in.text(field.value(), event, place, "event");
      rec.initial_mode = unquote(event);
    } else if (key == "timezone" && in.get(field.value().type()) == od::json_type::object) {
      for (auto zone_item : in.get(field.value().get_object())) {
        od::field zone = in.get(std::move(zone_item));
        if (in.get(zone.unescaped_key()) == "id") {
          in.text(zone.value(), rec.timezone, place, "timezone.id");
        } else {
          in.skip(zone.value());
        }
      }
    } else {
      in.skip(field.value());
    }
  }
}

// The fixed columns of one row that are checked before the row is kept.
struct RowText {
  std::string trigger, timestamp_ms, device_type, updated_params;
  void clear() {
    trigger.clear();
    timestamp_ms.clear();
    device_type.clear();
    updated_params.clear();
  }
};

Recording parse_padded(const simdjson::padded_string_view &json, const std::string &where) {
  Reader in(json, where);
  Recording rec;
  rec.content_hash = content_hash(json);

  od::parser parser;
  od::document doc = in.get(parser.iterate(json));
  if (in.get(doc.type()) != od::json_type::object) {
    if (auto error = in.validate()) in.invalid(error);
    throw Error(where, "not a JSON object");
  }
  bool have_data = false;
  Columns columns(rec.names);
  for (auto root_item : in.get(doc.get_object())) {
    od::field root_field = in.get(std::move(root_item));
    std::string_view root_key = in.get(root_field.unescaped_key());
    if (root_key == "location_info") {
      read_location_info(in, root_field.value(), rec);
      continue;
    }
    if (root_key != "data") {
      in.skip(root_field.value());
      continue;
    }
    if (in.get(root_field.value().type()) != od::json_type::array) {
      throw Error(where, "'data' is not an array");
    }
    if (have_data) throw Error(where, "more than one 'data' array");
    have_data = true;
    od::array data = in.get(root_field.value().get_array());
    // Sizing the vector first costs a quick pass over the array, far less
    // than growing and moving ~70,000 rows.
    rec.rows.reserve(in.get(data.count_elements()));

    RowText text;
    std::vector<Param> params;
    int64_t index = -1;
    int64_t prev_ms = 0;
    for (auto item : data) {
      ++index;
      const Place place{index};
      od::value value = in.get(std::move(item));
      if (in.get(value.type()) != od::json_type::object) in.fail(place, "not an object");

      Row row;
      row.index = index;
      text.clear();
      params.clear();
      Key *previous = nullptr;
      for (auto field_item : in.get(value.get_object())) {
        od::field field = in.get(std::move(field_item));
        Key &key = columns.find(in, field, previous);
        previous = &key;
        std::string *target = nullptr;
        switch (key.column) {
          case Column::Param: {
            Param &param = params.emplace_back(Param{key.name, {}});
            if (!in.text(field.value(), param.value, place, key.name)) params.pop_back();
            continue;
          }
          case Column::Ignored: in.skip(field.value()); continue;
          case Column::Trigger: target = &text.trigger; break;
          case Column::TimestampMs: target = &text.timestamp_ms; break;
          case Column::DeviceType: target = &text.device_type; break;
          case Column::UpdatedParams: target = &text.updated_params; break;
          case Column::LocationId: target = &row.location_id; break;
          case Column::DeviceId: target = &row.device_id; break;
          case Column::Description: target = &row.description; break;
          case Column::Event: target = &row.mode; break;
          case Column::AlertType: target = &row.alert_type; break;
        }
        if (!in.text(field.value(), *target, place, key.name)) target->clear();
      }

      if (text.trigger.empty()) in.fail(place, "no trigger");
      if (text.trigger == "2") {
        row.trigger = Trigger::Mode;
      } else if (text.trigger == "4") {
        row.trigger = Trigger::Alert;
      } else if (text.trigger == "8") {
        row.trigger = Trigger::Measurement;
      } else {
        in.fail(place, "unknown trigger '" + text.trigger + "'");
      }
      if (text.timestamp_ms.empty()) in.fail(place, "no timestamp_ms");
      if (!parse_integer(text.timestamp_ms, row.timestamp_ms)) {
        in.fail(place, "timestamp_ms '" + text.timestamp_ms + "' is not a number");
      }
      // The engine plays rows in order; a row from the past would be misplayed.
      if (index > 0 && row.timestamp_ms < prev_ms) {
        in.fail(place, "timestamp_ms " + text.timestamp_ms +
                             " is earlier than the row before it (" + std::to_string(prev_ms) +
                             "); rows must be in time order");
      }
      prev_ms = row.timestamp_ms;

      if (row.trigger == Trigger::Mode) {
        row.mode = unquote(row.mode);
        if (row.mode.empty()) {
          ++rec.skipped["mode row without event"];
          continue;
        }
      } else {
        if (row.device_id.empty()) {
          ++rec.skipped["device row without device_id"];
          continue;
        }
        if (!text.device_type.empty() && !parse_integer(text.device_type, row.device_type)) {
          in.fail(place, "device_type '" + text.device_type + "' is not a number");
        }
      }
      split_names(text.updated_params, columns, row.updated_params);
      // Collected in a reused vector so each row allocates exactly its size.
      row.params.assign(std::make_move_iterator(params.begin()),
                        std::make_move_iterator(params.end()));
      rec.rows.push_back(std::move(row));
    }
  }
  // Anything after the root object is not JSON (on demand stops at its end).
  if (!doc.current_location().error()) in.invalid(simdjson::TRAILING_CONTENT);
  if (!have_data) throw Error(where, "no 'data' array");
  // location_info may come after data, so rows get its id only now.
  for (Row &row : rec.rows) {
    if (row.location_id.empty()) row.location_id = rec.location_id;
  }
  return rec;
}

}  // namespace

Recording parse_recording(std::string_view json, const std::string &where) {
  simdjson::padded_string padded(json);
  return parse_padded(padded, where);
}

namespace {

// Parses text read from a file in place: simdjson needs a few readable bytes
// past the end, which the string's capacity provides.
Recording parse_owned(std::string &json, const std::string &where) {
  json.reserve(json.size() + simdjson::SIMDJSON_PADDING);
  return parse_padded(simdjson::padded_string_view(json.data(), json.size(), json.capacity()),
                      where);
}

std::string read_file(const std::string &path) {
  std::unique_ptr<FILE, int (*)(FILE *)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw Error(path, std::string("cannot open: ") + std::strerror(errno));
  long size = -1;
  if (std::fseek(file.get(), 0, SEEK_END) == 0) size = std::ftell(file.get());
  if (size < 0 || std::fseek(file.get(), 0, SEEK_SET) != 0) {
    throw Error(path, std::string("cannot read: ") + std::strerror(errno));
  }
  std::string out;
  out.reserve(size_t(size) + simdjson::SIMDJSON_PADDING);
  out.resize(size_t(size));
  out.resize(std::fread(out.data(), 1, out.size(), file.get()));
  if (std::ferror(file.get())) throw Error(path, "cannot read: I/O error");
  return out;
}

bool ends_with_json(std::string_view name) {
  return name.size() > 5 && name.substr(name.size() - 5) == ".json";
}

// A zip holds one recording JSON beside the CSV files its data_requests name.
Recording read_zip(const std::string &path) {
  int code = 0;
  std::unique_ptr<zip_t, void (*)(zip_t *)> archive(zip_open(path.c_str(), ZIP_RDONLY, &code),
                                                    &zip_discard);
  if (!archive) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    std::string what = std::string("cannot open zip: ") + zip_error_strerror(&error);
    zip_error_fini(&error);
    throw Error(path, what);
  }
  zip_int64_t found = -1;
  std::string entry;
  zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    const char *name = zip_get_name(archive.get(), zip_uint64_t(i), 0);
    // macOS archivers add "__MACOSX/._x.json" resource forks; they are not recordings.
    if (!name || !ends_with_json(name) || std::string_view(name).starts_with("__MACOSX/")) {
      continue;
    }
    if (found >= 0) {
      throw Error(path, "several .json entries (" + entry + ", " + name +
                            "); expected one recording");
    }
    found = i;
    entry = name;
  }
  if (found < 0) throw Error(path, "no .json entry in the zip");

  zip_stat_t st;
  if (zip_stat_index(archive.get(), zip_uint64_t(found), 0, &st) != 0 ||
      !(st.valid & ZIP_STAT_SIZE)) {
    throw Error(path, "cannot stat " + entry + ": " + zip_strerror(archive.get()));
  }
  std::unique_ptr<zip_file_t, int (*)(zip_file_t *)> file(
      zip_fopen_index(archive.get(), zip_uint64_t(found), 0), &zip_fclose);
  if (!file) throw Error(path, "cannot open " + entry + ": " + zip_strerror(archive.get()));
  std::string json;
  json.reserve(st.size + simdjson::SIMDJSON_PADDING);
  json.resize(st.size);
  zip_int64_t got = zip_fread(file.get(), json.data(), st.size);
  if (got < 0 || zip_uint64_t(got) != st.size) {
    throw Error(path, "cannot read " + entry + ": " + zip_file_strerror(file.get()));
  }
  // Errors name the entry inside the zip: "x.zip/recording.json: row 3: ...".
  return parse_owned(json, path + "/" + entry);
}

}  // namespace

Recording read_recording(const std::string &path) {
  std::string_view p = path;
  if (!p.ends_with(".zip") && !p.ends_with(".json")) {
    throw Error(path, "not a recording: expected a .json or .zip file");
  }
  std::string json;
  Recording rec = p.ends_with(".zip") ? read_zip(path) : parse_owned(json = read_file(path), path);
  rec.path = path;
  return rec;
}

}  // namespace livebot::playback
