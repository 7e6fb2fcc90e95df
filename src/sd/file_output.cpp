#include "sd/file_output.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/atomic_file.h"

namespace muster::sd {

namespace {

constexpr const char* kManifest = ".muster-sd-files";  // not *.json: file_sd never reads it

}  // namespace

FileOutput::FileOutput(std::string directory) : directory_(std::move(directory)) {
  std::ifstream manifest(directory_ + "/" + kManifest);
  for (std::string line; std::getline(manifest, line);)
    if (!line.empty()) owned_.insert(line);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(directory_, ec)) {
    const auto& path = entry.path();
    if (path.extension() != ".json" || !entry.is_regular_file(ec)) continue;
    const std::string job = path.stem().string();
    if (!owned_.contains(job)) {
      foreign_.insert(job);
      continue;
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (in) written_[job] = std::make_shared<const std::string>(text.str());
  }
}

std::string FileOutput::save_manifest() const {
  std::string text;
  for (const auto& job : owned_)
    text += job + "\n";
  return replace_file(directory_ + "/" + kManifest, text);
}

std::string FileOutput::write(
    const std::map<std::string, std::shared_ptr<const std::string>>& documents,
    const std::set<std::string>& held) {
  static const auto empty = std::make_shared<const std::string>("[]");
  std::string errors;
  auto note = [&](std::string e) {
    if (e.empty()) return;
    failures.inc();
    errors += (errors.empty() ? "" : "; ") + e;
  };
  for (const auto& [job, content] : documents) {
    const auto it = written_.find(job);
    // The same document object, or an equal one: nothing to write.
    if (it != written_.end() && (it->second == content || *it->second == *content)) continue;
    note(write_file(job, content));
  }
  // Jobs no longer configured: empty them once rather than leave their targets behind.
  for (auto& [job, content] : written_) {
    if (documents.contains(job) || held.contains(job) || *content == "[]") continue;
    note(write_file(job, empty));
  }
  return errors;
}

std::string FileOutput::forget(const std::string& job) {
  if (!owned_.contains(job)) return {};
  const std::string path = directory_ + "/" + job + ".json";
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    failures.inc();
    return "cannot remove " + path + ": " + std::strerror(errno);
  }
  written_.erase(job);
  owned_.erase(job);
  // (A manifest that still lists it is harmless: a listed job without a file is written anew.)
  return save_manifest();
}

std::string FileOutput::write_file(const std::string& job,
                                   std::shared_ptr<const std::string> content) {
  const std::string path = directory_ + "/" + job + ".json";
  if (foreign_.contains(job)) {
    return path + " was not written by muster sd (it is not in " + kManifest +
           "): not overwritten; remove it or use another file_sd_dir";
  }
  if (!owned_.contains(job)) {
    // Recorded before the file exists: a crash in between leaves an entry without a file, never
    // a file of ours that the next run would take for someone else's.
    owned_.insert(job);
    if (auto problem = save_manifest(); !problem.empty()) {
      owned_.erase(job);
      return problem;
    }
  }
  // (Its temporary, <job>.json.tmp, does not match *.json: file_sd ignores it.)
  if (auto problem = replace_file(path, *content); !problem.empty()) return problem;
  written_[job] = std::move(content);
  writes.inc();
  return {};
}

}  // namespace muster::sd
