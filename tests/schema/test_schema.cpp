// BinarySchema on real flatc output: parsing, verifying, rendering state as
// JSON, and "new fields" (field lesson 13).
#include <flatbuffers/idl.h>
#include <flatbuffers/reflection.h>
#include <flatbuffers/util.h>

#include <functional>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/hash.hpp"
#include "fixtures.hpp"
#include "schema/schema.hpp"

using livebot::schema::BinarySchema;
using livebot::schema::new_fields;
using livebot::test::bfbs_path;
using livebot::test::fbs_path;
using livebot::test::load_schema;
using livebot::test::read_bytes;
using Strings = std::vector<std::string>;

namespace {

// A state buffer as a plugin would write it: base.fbs compiled by the
// FlatBuffers parser, JSON in, binary out.
std::string build_state(const std::string &json) {
  flatbuffers::Parser parser;
  const std::string fbs = read_bytes(fbs_path("base"));
  if (!parser.Parse(fbs.c_str())) FAIL(parser.error_);
  if (!parser.Parse(json.c_str())) FAIL(parser.error_);
  return std::string(reinterpret_cast<const char *>(parser.builder_.GetBufferPointer()),
                     parser.builder_.GetSize());
}

const char *const state_json = R"({
  count: 7, mode: "Stop", ratio: 0.25, name: "abc",
  pos: { x: 1, y: -2 },
  sub: { a: 3, b: "bee" },
  items: [ { a: 4, b: "i1" }, { b: "i2" } ],
  tags: [ "t1", "t2" ],
  payload_type: "Other", payload: { n: 9 },
  hits: 1, misses: 2, limit: 0, last: 42
})";

// A binary schema of one table, t.Root, with one field "f" whose type
// `make_type` writes: what flatc would never write, but a damaged file may.
using MakeType = std::function<flatbuffers::Offset<reflection::Type>(flatbuffers::FlatBufferBuilder &)>;
std::string schema_with_field(const MakeType &make_type) {
  flatbuffers::FlatBufferBuilder b;
  const auto type = make_type(b);
  std::vector<flatbuffers::Offset<reflection::Field>> fields{reflection::CreateFieldDirect(b, "f", type, 0, 4)};
  const auto root = reflection::CreateObjectDirect(b, "t.Root", &fields);
  std::vector<flatbuffers::Offset<reflection::Object>> objects{root};
  std::vector<flatbuffers::Offset<reflection::Enum>> enums;
  reflection::FinishSchemaBuffer(b, reflection::CreateSchemaDirect(b, &objects, &enums, nullptr, nullptr, root));
  return std::string(reinterpret_cast<const char *>(b.GetBufferPointer()), b.GetSize());
}

}  // namespace

TEST_CASE("parse accepts flatc's binary schema and names its root table", "[schema]") {
  const std::string bytes = read_bytes(bfbs_path("base"));
  const BinarySchema schema = BinarySchema::parse(bytes, "base.bfbs");
  CHECK(schema.root_type() == "lesson.State");
  CHECK(schema.bytes() == bytes);
  CHECK(schema.hash() == livebot::content_hash(bytes));
  CHECK(schema.hash().size() == 32);
  CHECK(schema.reflection().file_ident()->str() == "LBST");
}

TEST_CASE("parse tells two schemas apart by content hash", "[schema]") {
  CHECK(load_schema("base").hash() == load_schema("base").hash());
  CHECK(load_schema("base").hash() != load_schema("accept_rename").hash());
}

TEST_CASE("parse refuses garbage with a message naming the source", "[schema]") {
  REQUIRE_THROWS_AS(BinarySchema::parse("this is not a schema", "x.bfbs"), livebot::Error);
  REQUIRE_THROWS_WITH(BinarySchema::parse("this is not a schema", "x.bfbs"),
                      "x.bfbs: not a binary schema (.bfbs): the reflection verifier rejects it");
  REQUIRE_THROWS_WITH(BinarySchema::parse("", "empty.bfbs"), Catch::StartsWith("empty.bfbs: not a binary schema"));
}

TEST_CASE("parse refuses a truncated binary schema", "[schema]") {
  const std::string bytes = read_bytes(bfbs_path("base"));
  REQUIRE_THROWS_WITH(BinarySchema::parse(bytes.substr(0, bytes.size() / 2), "half.bfbs"),
                      Catch::StartsWith("half.bfbs: not a binary schema"));
}

TEST_CASE("parse refuses a schema without a root table", "[schema]") {
  REQUIRE_THROWS_WITH(BinarySchema::parse(read_bytes(bfbs_path("no_root")), "no_root.bfbs"),
                      "no_root.bfbs: binary schema has no root table (root_type missing from the .fbs)");
}

TEST_CASE("parse refuses a schema whose types refer to nothing", "[schema]") {
  const std::string object_7 =
      schema_with_field([](auto &b) { return reflection::CreateType(b, reflection::Obj, reflection::None, 7); });
  REQUIRE_THROWS_WITH(BinarySchema::parse(object_7, "x.bfbs"),
                      "x.bfbs: binary schema is inconsistent: t.Root.f: refers to object 7 of 1");
  const std::string union_without_enum =
      schema_with_field([](auto &b) { return reflection::CreateType(b, reflection::Union, reflection::None, -1); });
  REQUIRE_THROWS_WITH(BinarySchema::parse(union_without_enum, "x.bfbs"),
                      "x.bfbs: binary schema is inconsistent: t.Root.f: refers to enum -1 of 0");
  const std::string vector_of_vectors =
      schema_with_field([](auto &b) { return reflection::CreateType(b, reflection::Vector, reflection::Vector); });
  REQUIRE_THROWS_WITH(BinarySchema::parse(vector_of_vectors, "x.bfbs"),
                      "x.bfbs: binary schema is inconsistent: t.Root.f: element type 14 not allowed here");
}

TEST_CASE("parse refuses a base type byte that names no type", "[schema]") {
  // Written as a byte: reflection::BaseType cannot hold 40.
  const std::string bytes = schema_with_field([](flatbuffers::FlatBufferBuilder &b) {
    const auto start = b.StartTable();
    b.AddElement<int8_t>(reflection::Type::VT_BASE_TYPE, 40, 0);
    return flatbuffers::Offset<reflection::Type>(b.EndTable(start));
  });
  REQUIRE_THROWS_WITH(BinarySchema::parse(bytes, "x.bfbs"),
                      "x.bfbs: binary schema is inconsistent: t.Root.f: base type 40 not allowed here");
}

TEST_CASE("verify accepts a real state buffer and rejects damaged ones", "[schema]") {
  const BinarySchema schema = load_schema("base");
  const std::string state = build_state(state_json);
  CHECK(schema.verify(state));
  CHECK_FALSE(schema.verify(state.substr(0, state.size() - 8)));
  CHECK_FALSE(schema.verify(state.substr(0, 3)));
  CHECK_FALSE(schema.verify(""));
}

TEST_CASE("verify rejects a buffer whose root offset points outside it", "[schema]") {
  std::string state = build_state(state_json);
  state[0] = '\xff';
  state[1] = '\xff';
  CHECK_FALSE(load_schema("base").verify(state));
}

TEST_CASE("to_json renders a state buffer from the binary schema alone", "[schema]") {
  const std::string json = load_schema("base").to_json(build_state(state_json));
  const nlohmann::json doc = nlohmann::json::parse(json);  // strict JSON, or this throws
  CHECK(doc["count"] == 7);
  CHECK(doc["mode"] == "Stop");
  CHECK(doc["ratio"] == 0.25);
  CHECK(doc["name"] == "abc");
  CHECK(doc["pos"] == nlohmann::json({{"x", 1}, {"y", -2}}));
  CHECK(doc["sub"]["b"] == "bee");
  CHECK(doc["items"].size() == 2);
  CHECK(doc["items"][1]["b"] == "i2");
  CHECK(doc["tags"] == nlohmann::json({"t1", "t2"}));
  CHECK(doc["payload_type"] == "Other");
  CHECK(doc["payload"]["n"] == 9);
  CHECK(doc["limit"] == 0);  // optional scalar set to its would-be default
  CHECK(doc["last"] == 42);
}

TEST_CASE("to_json output reads back into the same buffer", "[schema]") {
  const BinarySchema schema = load_schema("base");
  const std::string first = schema.to_json(build_state(state_json));
  const std::string again = schema.to_json(build_state(first));
  CHECK(again == first);
}

TEST_CASE("to_json refuses a buffer that does not verify", "[schema]") {
  const std::string state = build_state(state_json);
  REQUIRE_THROWS_WITH(load_schema("base").to_json(state.substr(0, state.size() / 2)),
                      "lesson.State: buffer does not verify against its schema");
}

TEST_CASE("to_json refuses a union value without its type, which the verifier lets through", "[schema]") {
  // lesson.State.payload (id 9) set to an Other table, payload_type (id 8) absent.
  flatbuffers::FlatBufferBuilder b;
  const auto other_start = b.StartTable();
  b.AddElement<int32_t>(flatbuffers::FieldIndexToOffset(0), 5, 0);
  const auto other = b.EndTable(other_start);
  const auto root_start = b.StartTable();
  b.AddOffset(flatbuffers::FieldIndexToOffset(9), flatbuffers::Offset<void>(other));
  b.Finish(flatbuffers::Offset<void>(b.EndTable(root_start)), "LBST");
  const std::string state(reinterpret_cast<const char *>(b.GetBufferPointer()), b.GetSize());
  const BinarySchema schema = load_schema("base");
  REQUIRE(schema.verify(state));
  REQUIRE_THROWS_WITH(schema.to_json(state),
                      "lesson.State: lesson.State.payload: a union value without a type that names it");
}

TEST_CASE("to_json refuses a string that is not UTF-8, which the verifier lets through", "[schema]") {
  std::string state = build_state(state_json);
  const auto at = state.find("abc");
  REQUIRE(at != std::string::npos);
  state.replace(at, 3, "\xff\xfe\xfd");
  const BinarySchema schema = load_schema("base");
  REQUIRE(schema.verify(state));
  REQUIRE_THROWS_WITH(schema.to_json(state), Catch::StartsWith("lesson.State: cannot render the buffer as JSON"));
}

TEST_CASE("new_fields lists added fields, nested ones as dotted paths", "[schema][new_fields]") {
  // `gone` is added already deprecated; `more` is a union, listed without
  // its hidden more_type.
  CHECK(new_fields(load_schema("base"), load_schema("accept_add_field")) ==
        Strings{"sub.c", "items.c", "extra", "more"});
}

TEST_CASE("new_fields lists new fields of new types", "[schema][new_fields]") {
  CHECK(new_fields(load_schema("base"), load_schema("accept_new_types")) == Strings{"color", "extra"});
}

TEST_CASE("new_fields: a renamed field is not new", "[schema][new_fields]") {
  CHECK(new_fields(load_schema("base"), load_schema("accept_rename")).empty());
}

TEST_CASE("new_fields: a field deprecated since is not new", "[schema][new_fields]") {
  CHECK(new_fields(load_schema("base"), load_schema("accept_deprecate")).empty());
  CHECK(new_fields(load_schema("accept_deprecate"), load_schema("base")).empty());
}

TEST_CASE("new_fields ends on a table that holds itself", "[schema][new_fields]") {
  // children.label is the same field again; a walk down would never end.
  CHECK(new_fields(load_schema("tree"), load_schema("tree_grown")) == Strings{"label"});
}

TEST_CASE("new_fields: nothing is new between equal schemas or going back", "[schema][new_fields]") {
  CHECK(new_fields(load_schema("base"), load_schema("base")).empty());
  CHECK(new_fields(load_schema("accept_add_field"), load_schema("base")).empty());
}
