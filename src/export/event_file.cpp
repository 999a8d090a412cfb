#include "export/event_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

namespace pidscope {

namespace {
Status WriteFully(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("write events");
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Ok{};
}
}  // namespace

Result<EventFile> EventFile::Open(const std::string& path, size_t max_bytes) {
  if (path == "-") return EventFile(path, UniqueFd(dup(STDOUT_FILENO)), 0, 0);
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd) return Error::FromErrno("open events file " + path);
  struct stat st {};
  fstat(fd.get(), &st);
  // Only a regular file is rotated: renaming /dev/null or a fifo away would break the host.
  if (!S_ISREG(st.st_mode)) max_bytes = 0;
  return EventFile(path, std::move(fd), static_cast<size_t>(st.st_size), max_bytes);
}

Status EventFile::Rotate() {
  std::string previous = path_ + ".1";
  if (rename(path_.c_str(), previous.c_str()) != 0) return Error::FromErrno("rotate " + path_);
  UniqueFd fd(open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd) return Error::FromErrno("reopen " + path_);
  fd_ = std::move(fd);
  size_ = 0;
  ++rotations_;
  return Ok{};
}

Status EventFile::Write(const std::string& lines) {
  if (lines.empty()) return Ok{};
  if (max_bytes_ > 0 && size_ > 0 && size_ + lines.size() > max_bytes_) {
    if (auto r = Rotate(); !r) return r;
  }
  if (auto r = WriteFully(fd_.get(), lines.data(), lines.size()); !r) return r;
  size_ += lines.size();
  return Ok{};
}

}  // namespace pidscope
