// The JSON-lines event stream written to a file (rotated by size) or to standard output.
#pragma once

#include <cstddef>
#include <string>

#include "pidscope/result.hpp"
#include "pidscope/unique_fd.hpp"

namespace pidscope {

class EventFile {
 public:
  // "-" is standard output (never rotated). A file is appended to and rotated to PATH.1 once it
  // exceeds max_bytes (one previous generation is kept, as logrotate's copytruncate would).
  static Result<EventFile> Open(const std::string& path, size_t max_bytes);

  // Writes whole lines; a line is never split across a rotation.
  Status Write(const std::string& lines);
  size_t rotations() const { return rotations_; }

 private:
  EventFile(std::string path, UniqueFd fd, size_t size, size_t max_bytes)
      : path_(std::move(path)), fd_(std::move(fd)), size_(size), max_bytes_(max_bytes) {}
  Status Rotate();

  std::string path_;
  UniqueFd fd_;
  size_t size_ = 0;
  size_t max_bytes_ = 0;
  size_t rotations_ = 0;
};

}  // namespace pidscope
