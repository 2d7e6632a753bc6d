// Test helpers for the deployment files: a reader for the parts of docker-compose.yml that the
// tests check (services, their commands, volumes, environment, dependencies, profiles), with YAML
// merge keys (`<<: *anchor`) and `${VAR:-default}` interpolation as Compose applies them; running a
// command line in a child process; reading a certificate's fields with openssl; and parsing the
// tab-separated lines of `simulations/launch_local.sh --print-commands`. Header-only; used by
// tests/deploy only.
// Errors are reported as test failures (ADD_FAILURE) with the file and service named.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "yaml-cpp/yaml.h"

namespace fedsilo::deploy_testing {

namespace fs = std::filesystem;

struct Volume {
  std::string source;  // interpolated; a named volume, or a host path (relative to the file)
  std::string target;  // the path inside the container
  bool read_only = false;
  bool named = false;  // a named volume (declared under top-level `volumes:`)
};

struct Service {
  std::string name;
  std::string image;
  std::string build;  // the build context, "" when none
  std::string working_dir;
  std::vector<std::string> entrypoint;  // empty: the image's ENTRYPOINT
  std::vector<std::string> command;
  std::map<std::string, std::string> environment;
  std::vector<Volume> volumes;
  std::map<std::string, std::string> depends_on;  // service -> condition
  std::vector<std::string> healthcheck;
  std::vector<std::string> profiles;  // empty: always enabled
};

struct ComposeFile {
  fs::path dir;  // the directory of the file: relative host paths start here
  std::map<std::string, Service> services;
  std::vector<std::string> named_volumes;
};

// ${VAR}, ${VAR:-default} and ${VAR-default} from the environment; $$ is a literal $.
inline std::string Interpolate(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      out += text[i];
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (i + 1 >= text.size() || text[i + 1] != '{') {
      ADD_FAILURE() << "unsupported interpolation in '" << text << "'";
      return text;
    }
    const size_t close = text.find('}', i);
    if (close == std::string::npos) {
      ADD_FAILURE() << "unterminated ${ in '" << text << "'";
      return text;
    }
    std::string body = text.substr(i + 2, close - i - 2);
    std::string fallback;
    bool use_if_empty = false, has_fallback = false;
    if (size_t p = body.find(":-"); p != std::string::npos) {
      fallback = body.substr(p + 2);
      body = body.substr(0, p);
      use_if_empty = has_fallback = true;
    } else if (size_t q = body.find('-'); q != std::string::npos) {
      fallback = body.substr(q + 1);
      body = body.substr(0, q);
      has_fallback = true;
    }
    const char* value = std::getenv(body.c_str());
    if (value == nullptr || (use_if_empty && *value == '\0')) {
      out += has_fallback ? fallback : "";
    } else {
      out += value;
    }
    i = close;
  }
  return out;
}

// A node with `<<` merged in (keys written beside `<<` win), as Compose reads YAML merge keys.
inline YAML::Node Merged(const YAML::Node& node) {
  if (!node.IsMap() || !node["<<"]) return node;
  YAML::Node out(YAML::NodeType::Map);
  const YAML::Node base = node["<<"];
  std::vector<YAML::Node> bases;
  if (base.IsSequence()) {
    for (const auto& b : base) bases.push_back(b);
  } else {
    bases.push_back(base);
  }
  for (const YAML::Node& b : bases) {
    for (const auto& entry : Merged(b)) out[entry.first.Scalar()] = entry.second;
  }
  for (const auto& entry : node) {
    if (entry.first.Scalar() != "<<") out[entry.first.Scalar()] = entry.second;
  }
  return out;
}

// A command or entrypoint: a list, or a string split at blanks.
inline std::vector<std::string> CommandOf(const YAML::Node& node) {
  std::vector<std::string> out;
  if (!node) return out;
  if (node.IsSequence()) {
    for (const auto& item : node) out.push_back(item.as<std::string>());
  } else {
    std::istringstream words(node.as<std::string>());
    for (std::string w; words >> w;) out.push_back(w);
  }
  return out;
}

inline ComposeFile LoadCompose(const fs::path& path) {
  ComposeFile file;
  file.dir = path.parent_path();
  YAML::Node root;
  try {
    root = YAML::LoadFile(path.string());
  } catch (const YAML::Exception& e) {
    ADD_FAILURE() << path << ": " << e.what();
    return file;
  }
  if (const YAML::Node volumes = root["volumes"]) {
    for (const auto& entry : volumes) file.named_volumes.push_back(entry.first.Scalar());
  }
  for (const auto& entry : root["services"]) {
    Service s;
    s.name = entry.first.Scalar();
    const YAML::Node node = Merged(entry.second);
    if (node["image"]) s.image = node["image"].as<std::string>();
    if (node["build"]) {
      s.build = node["build"].IsMap() ? node["build"]["context"].as<std::string>(".")
                                      : node["build"].as<std::string>();
    }
    if (node["working_dir"]) s.working_dir = node["working_dir"].as<std::string>();
    s.entrypoint = CommandOf(node["entrypoint"]);
    s.command = CommandOf(node["command"]);
    if (const YAML::Node env = node["environment"]) {
      if (env.IsMap()) {
        for (const auto& e : env) s.environment[e.first.Scalar()] = Interpolate(e.second.as<std::string>(""));
      } else {
        for (const auto& e : env) {
          const std::string kv = e.as<std::string>();
          const size_t eq = kv.find('=');
          s.environment[kv.substr(0, eq)] = eq == std::string::npos ? "" : Interpolate(kv.substr(eq + 1));
        }
      }
    }
    for (const auto& v : node["volumes"]) {
      if (!v.IsScalar()) {
        ADD_FAILURE() << s.name << ": only the short volume syntax is read by this test";
        continue;
      }
      const std::string spec = Interpolate(v.Scalar());
      Volume volume;
      const size_t first = spec.find(':');
      const size_t second = spec.find(':', first + 1);
      volume.source = spec.substr(0, first);
      volume.target = spec.substr(first + 1, second == std::string::npos ? std::string::npos
                                                                          : second - first - 1);
      volume.read_only = second != std::string::npos && spec.substr(second + 1) == "ro";
      volume.named = !volume.source.empty() && volume.source[0] != '.' && volume.source[0] != '/' &&
                     volume.source[0] != '~';
      s.volumes.push_back(volume);
    }
    if (const YAML::Node deps = node["depends_on"]) {
      if (deps.IsSequence()) {
        for (const auto& d : deps) s.depends_on[d.as<std::string>()] = "service_started";
      } else {
        for (const auto& d : deps) {
          s.depends_on[d.first.Scalar()] = d.second["condition"].as<std::string>("service_started");
        }
      }
    }
    if (const YAML::Node health = node["healthcheck"]) s.healthcheck = CommandOf(health["test"]);
    for (const auto& p : node["profiles"]) s.profiles.push_back(p.as<std::string>());
    file.services[s.name] = s;
  }
  return file;
}

// The value after `option` in `args` ("" when absent), and every value of a repeated option.
inline std::string OptionValue(const std::vector<std::string>& args, const std::string& option) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == option) return args[i + 1];
  }
  return "";
}

inline bool HasFlag(const std::vector<std::string>& args, const std::string& flag) {
  for (const std::string& a : args) {
    if (a == flag) return true;
  }
  return false;
}

// "host:port" -> {host, port}; IPv6 hosts in brackets.
inline std::pair<std::string, std::string> SplitHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return {address, ""};
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {host, address.substr(colon + 1)};
}

inline std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

struct Result {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs argv (no shell interpretation of its elements) from `cwd`, with extra environment.
inline Result RunCommand(const std::vector<std::string>& argv, const fs::path& cwd,
                  const std::map<std::string, std::string>& env = {}) {
  std::string command = "cd " + ShellQuote(cwd.string()) + " && ";
  for (const auto& [key, value] : env) command += key + "=" + ShellQuote(value) + " ";
  for (const std::string& a : argv) command += ShellQuote(a) + " ";
  command += "2>&1";
  Result result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t read;
  while ((read = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), read);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// An openssl x509 field of a certificate ("" and a test failure when openssl fails).
inline std::string CertificateField(const fs::path& cert, const std::vector<std::string>& what) {
  std::vector<std::string> argv = {"openssl", "x509", "-in", cert.string(), "-noout"};
  argv.insert(argv.end(), what.begin(), what.end());
  const Result r = RunCommand(argv, fs::current_path());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output;
}

// `launch_local.sh --print-commands` output: process name -> its argv.
inline std::map<std::string, std::vector<std::string>> ParsePrintedCommands(const std::string& text) {
  std::map<std::string, std::vector<std::string>> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> fields;
    size_t start = 0;
    while (true) {
      const size_t tab = line.find('\t', start);
      fields.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    if (fields.size() < 2) {
      ADD_FAILURE() << "not a command line: '" << line << "'";
      continue;
    }
    out[fields[0]] = std::vector<std::string>(fields.begin() + 1, fields.end());
  }
  return out;
}

}  // namespace fedsilo::deploy_testing
