// Test helper for deploy/kubernetes: the Kubernetes objects of a set of manifest files as the
// tests read them (every YAML document with its file, kind and name), found by kind and name, and
// Kubernetes' `$(VAR)` expansion of a container's args and a mount's subPathExpr (a defined VAR is
// replaced, `$$` is a literal `$`, an undefined `$(VAR)` is kept as written, as the kubelet does).
// Header-only; used by tests/deploy only. Errors are test failures (ADD_FAILURE) naming the file.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "yaml-cpp/yaml.h"

namespace fedsilo::deploy_testing {

struct KubernetesObject {
  std::filesystem::path file;
  int index = 0;  // the document's position in its file
  std::string kind;
  std::string name;
  YAML::Node node;
};

// Every non-empty document of `files`, in order.
inline std::vector<KubernetesObject> LoadKubernetesObjects(
    const std::vector<std::filesystem::path>& files) {
  std::vector<KubernetesObject> out;
  for (const auto& file : files) {
    std::vector<YAML::Node> docs;
    try {
      docs = YAML::LoadAllFromFile(file.string());
    } catch (const YAML::Exception& e) {
      ADD_FAILURE() << file << ": " << e.what();
      continue;
    }
    for (size_t i = 0; i < docs.size(); ++i) {
      if (!docs[i] || docs[i].IsNull()) continue;
      KubernetesObject object;
      object.file = file;
      object.index = static_cast<int>(i);
      object.node = docs[i];
      object.kind = docs[i]["kind"].as<std::string>("");
      object.name = docs[i]["metadata"]["name"].as<std::string>("");
      out.push_back(object);
    }
  }
  return out;
}

// The one object of `kind` named `name` ("" = the only object of that kind); nullptr (and a test
// failure) when there is none or more than one.
inline const KubernetesObject* FindObject(const std::vector<KubernetesObject>& objects,
                                          const std::string& kind, const std::string& name = "") {
  const KubernetesObject* found = nullptr;
  for (const KubernetesObject& o : objects) {
    if (o.kind != kind || (!name.empty() && o.name != name)) continue;
    if (found != nullptr) {
      ADD_FAILURE() << "more than one " << kind << " " << name;
      return nullptr;
    }
    found = &o;
  }
  if (found == nullptr) ADD_FAILURE() << "no " << kind << " " << name;
  return found;
}

// `text` with each `$(VAR)` whose VAR is in `env` replaced by its value; `$$` is a literal `$`.
inline std::string ExpandKubernetesVars(const std::string& text,
                                        const std::map<std::string, std::string>& env) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      out += text[i];
      continue;
    }
    if (text[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    const size_t close = text[i + 1] == '(' ? text.find(')', i + 2) : std::string::npos;
    if (close == std::string::npos) {
      out += text[i];
      continue;
    }
    const std::string var = text.substr(i + 2, close - i - 2);
    const auto it = env.find(var);
    out += it != env.end() ? it->second : text.substr(i, close - i + 1);
    i = close;
  }
  return out;
}

// The strings of a YAML sequence (empty when absent).
inline std::vector<std::string> Strings(const YAML::Node& sequence) {
  std::vector<std::string> out;
  if (!sequence) return out;
  for (const auto& item : sequence) out.push_back(item.as<std::string>());
  return out;
}

}  // namespace fedsilo::deploy_testing
