// `livebot new`: a microservice project of its own, written from the SDK's
// template directory (sdk/template/, installed as share/livebot/template/).
// The template is the project as it is written, with these substitutions in
// file names and contents:
//   @NAME@         the microservice's name (snake_case): project, .so, namespace
//   @CLASS@        its class (CamelCase)
//   @KIND@         location or device
//   @DEVICE_TYPE@  the device type it serves, or the recording's device's type
// and a line starting with @location@ or @device@ kept, without the tag, only
// in a project of that kind.
//
// Promises: nothing is written unless DIR/NAME is new or an empty directory;
// every error is a livebot::Error naming the path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace livebot::scaffold {

enum class Kind { Location, Device };

struct Microservice {
  std::string name;
  Kind kind = Kind::Location;
  int32_t device_type = 0;  // a device microservice's; ignored for a location one
};

// Why `name` cannot name a microservice (it becomes a C++ namespace, a
// FlatBuffers namespace, a file and a meson project), or "" if it can.
std::string name_problem(const std::string &name);

// The templates: share/livebot/template where this binary is installed
// (found relative to it, so an SDK installed under any prefix or destdir
// uses its own), else the source tree's sdk/template, for a binary run from
// the build tree. Throws if neither is there.
std::string template_dir();

// Writes the project into `project_dir` from `templates`; returns the files
// written, relative to it, in order.
std::vector<std::string> write_project(const Microservice &ms, const std::string &templates,
                                       const std::string &project_dir);

}  // namespace livebot::scaffold
