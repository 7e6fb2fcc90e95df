#pragma once
// The file_sd output: one <job>.json per job in a directory Prometheus's file_sd_configs reads.
// Each file is written to <job>.json.tmp in the same directory and renamed over the target, so a
// reader never sees half a file (an empty or shorter document would drop targets), and only when
// its content changed. A job that left the configuration gets "[]" once, never its stale targets.
// muster sd touches only the files it wrote, listed in the directory's manifest
// (.muster-sd-files): those found at start (a previous run's) are taken as written, so a job whose
// content is the same is not rewritten, a held job keeps its file until it is discovered, and a
// job no longer configured gets "[]". Any other file is left alone, and a job whose file exists
// but is not in the manifest is not written (an error names it) rather than overwrite it.
// Threading: one thread (the sd's io_context) calls write(); counters may be read from any.
#include <map>
#include <memory>
#include <set>
#include <string>

#include "common/metrics.h"

namespace muster::sd {

class FileOutput {
 public:
  explicit FileOutput(std::string directory);
  // Brings the directory up to `documents` (job -> rendered JSON); the files of `held` jobs stay
  // as they are. Returns the errors, if any.
  std::string write(const std::map<std::string, std::shared_ptr<const std::string>>& documents,
                    const std::set<std::string>& held = {});
  // Removes `job`'s file, if muster sd wrote it, and its line in the manifest: a discovered job
  // gone long enough (sd/discovered_jobs.h). Returns the error, if any.
  std::string forget(const std::string& job);
  const std::string& directory() const { return directory_; }
  // The jobs whose files muster sd wrote, this run or an earlier one.
  const std::set<std::string>& owned() const { return owned_; }

  metrics::Counter writes;    // files replaced
  metrics::Counter failures;  // files that could not be written

 private:
  std::string write_file(const std::string& job, std::shared_ptr<const std::string> content);
  std::string save_manifest() const;
  std::string directory_;
  std::set<std::string> owned_;    // jobs whose file muster sd wrote (the manifest)
  std::set<std::string> foreign_;  // *.json files found at start that it did not write
  // job -> content on disk (the document last written, shared with the snapshot)
  std::map<std::string, std::shared_ptr<const std::string>> written_;
};

}  // namespace muster::sd
