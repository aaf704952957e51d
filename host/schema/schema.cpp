#include "schema/schema.hpp"

#include <flatbuffers/idl.h>

#include <algorithm>
#include <set>
#include <utility>

#include "common/error.hpp"
#include "common/hash.hpp"
#include "schema/check_types.hpp"
#include "schema/reflection_util.hpp"
#include "schema/union_types.hpp"

namespace livebot::schema {

namespace {

using detail::by_id;
using detail::field_with_id;

const uint8_t *data_of(std::string_view bytes) {
  return reinterpret_cast<const uint8_t *>(bytes.data());
}

// The table a field holds, directly or as vector elements; null otherwise.
const reflection::Object *table_of(const reflection::Schema &schema, const reflection::Field &field) {
  const reflection::Type &type = *field.type();
  const bool holds_object =
      type.base_type() == reflection::Obj ||
      (type.base_type() == reflection::Vector && type.element() == reflection::Obj);
  if (!holds_object) return nullptr;
  const reflection::Object *object = schema.objects()->Get(static_cast<flatbuffers::uoffset_t>(type.index()));
  return object->is_struct() ? nullptr : object;
}

using TablePair = std::pair<const reflection::Object *, const reflection::Object *>;

void collect_new_fields(const reflection::Schema &before_schema, const reflection::Object &before,
                        const reflection::Schema &now_schema, const reflection::Object &now,
                        const std::string &prefix, std::set<TablePair> &on_path,
                        std::vector<std::string> &out) {
  // A table that holds itself would otherwise be walked forever.
  if (!on_path.insert({&before, &now}).second) return;
  for (const reflection::Field *field : by_id(now)) {
    if (field->deprecated()) continue;
    // A union's hidden _type field is listed through the union field itself.
    if (field->type()->base_type() == reflection::UType) continue;
    const std::string path = prefix + field->name()->str();
    const reflection::Field *old = field_with_id(before, field->id());
    if (!old) {
      out.push_back(path);
      continue;
    }
    const reflection::Object *old_table = table_of(before_schema, *old);
    const reflection::Object *new_table = table_of(now_schema, *field);
    if (old_table && new_table)
      collect_new_fields(before_schema, *old_table, now_schema, *new_table, path + ".", on_path, out);
  }
  on_path.erase({&before, &now});
}

// flatbuffers 2.0.8's reflection verifier reads a union field's offset
// before it checks that the field lies in the buffer: up to a vtable entry
// (64 KiB) and an offset's 4 bytes past a table it has checked. So a buffer
// of a schema with unions is verified from a copy with that much zeroed room
// after it: the early read stays in memory of ours, and what it reads is
// then checked like any other offset.
constexpr size_t kUnionReadSlack = 0x10000 + sizeof(flatbuffers::uoffset_t);

bool has_unions(const reflection::Schema &schema) {
  for (const reflection::Object *object : *schema.objects())
    for (const reflection::Field *field : *object->fields())
      if (field->type()->base_type() == reflection::Union ||
          (field->type()->base_type() == reflection::Vector && field->type()->element() == reflection::Union))
        return true;
  return false;
}

}  // namespace

BinarySchema BinarySchema::parse(std::string bfbs, const std::string &where) {
  flatbuffers::Verifier verifier(data_of(bfbs), bfbs.size());
  if (!reflection::VerifySchemaBuffer(verifier))
    throw Error(where, "not a binary schema (.bfbs): the reflection verifier rejects it");
  if (!reflection::GetSchema(bfbs.data())->root_table())
    throw Error(where, "binary schema has no root table (root_type missing from the .fbs)");
  if (const std::string problem = detail::check_types(*reflection::GetSchema(bfbs.data())); !problem.empty())
    throw Error(where, "binary schema is inconsistent: " + problem);
  BinarySchema schema;
  schema.unions_ = has_unions(*reflection::GetSchema(bfbs.data()));
  schema.hash_ = content_hash(bfbs);
  schema.bytes_ = std::make_shared<const std::string>(std::move(bfbs));
  return schema;
}

const reflection::Schema &BinarySchema::reflection() const {
  return *reflection::GetSchema(bytes_->data());
}

std::string BinarySchema::root_type() const {
  return reflection().root_table()->name()->str();
}

bool BinarySchema::verify(std::string_view buffer) const {
  std::string padded;
  if (unions_) {
    padded.reserve(buffer.size() + kUnionReadSlack);
    padded.assign(buffer);
    padded.resize(buffer.size() + kUnionReadSlack);
  }
  const uint8_t *data = data_of(unions_ ? std::string_view(padded) : buffer);
  return flatbuffers::Verify(reflection(), *reflection().root_table(), data, buffer.size());
}

std::string BinarySchema::to_json(std::string_view buffer) const {
  if (!verify(buffer)) throw Error(root_type(), "buffer does not verify against its schema");
  if (const std::string field = detail::untyped_union(reflection(), data_of(buffer)); !field.empty())
    throw Error(root_type(), field + ": a union value without a type that names it");
  flatbuffers::IDLOptions options;
  options.strict_json = true;
  // Show every field: a reader of stored state wants the zeros too.
  options.output_default_scalars_in_json = true;
  flatbuffers::Parser parser(options);
  if (!parser.Deserialize(data_of(*bytes_), bytes_->size()))
    throw Error(root_type(), "cannot load the binary schema for rendering: " + parser.error_);
  std::string json;
  if (!flatbuffers::GenerateText(parser, buffer.data(), &json))
    throw Error(root_type(), "cannot render the buffer as JSON (a string is not valid UTF-8?)");
  return json;
}

std::vector<std::string> new_fields(const BinarySchema &before, const BinarySchema &now) {
  std::vector<std::string> out;
  std::set<TablePair> on_path;
  collect_new_fields(before.reflection(), *before.reflection().root_table(), now.reflection(),
                     *now.reflection().root_table(), "", on_path, out);
  return out;
}

std::vector<std::string> deprecated_present(const BinarySchema &marking, std::string_view buffer) {
  std::vector<std::string> out;
  const flatbuffers::Table *root = flatbuffers::GetAnyRoot(data_of(buffer));
  for (const reflection::Field *f : *marking.reflection().root_table()->fields())
    if (f->deprecated() && root->GetOptionalFieldOffset(f->offset()) != 0) out.push_back(f->name()->str());
  return out;
}

}  // namespace livebot::schema
