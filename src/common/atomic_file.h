#pragma once
// Replacing a file so that a reader sees the old content or the new, never half of either: the
// content goes to `<path>.tmp` in the same directory, which is then renamed over `path`.
// Threading: a pure function of the file system.
#include <string>
#include <string_view>

namespace muster {

// Replaces `path` with `content`; returns what went wrong ("cannot write /x.tmp: No space left
// on device"), or "" on success. A failure leaves `path` as it was and no temporary behind.
std::string replace_file(const std::string& path, std::string_view content);

}  // namespace muster
