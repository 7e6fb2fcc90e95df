#include "sd/file_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

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
  const std::string path = directory_ + "/" + kManifest;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) return "cannot write " + tmp;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return "cannot rename " + tmp + " to " + path + ": " + why;
  }
  return {};
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
  const std::string tmp = path + ".tmp";  // does not match *.json: file_sd ignores it
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return "cannot create " + tmp + ": " + std::strerror(errno);
  size_t done = 0;
  while (done < content->size()) {
    const ssize_t n = ::write(fd, content->data() + done, content->size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return "cannot write " + tmp + ": " + why;
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return "cannot write " + tmp + ": " + why;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return "cannot rename " + tmp + " to " + path + ": " + why;
  }
  written_[job] = std::move(content);
  writes.inc();
  return {};
}

}  // namespace muster::sd
