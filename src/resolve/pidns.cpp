#include "resolve/pidns.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "pidscope/unique_fd.hpp"

namespace pidscope {

namespace {
uint64_t InodeOf(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 ? st.st_ino : 0;
}
}  // namespace

Result<PidNamespaceLinks> ReadPidNamespaceLinks(const std::string& proc_root, int32_t member_pid) {
  std::string path = proc_root + "/" + std::to_string(member_pid) + "/ns/pid";
  UniqueFd ns(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return Error::FromErrno("open " + path);
  PidNamespaceLinks links;
  links.inode = InodeOf(ns.get());
  // EPERM: the parent is not visible from our namespace (or this is the initial one).
  UniqueFd parent(ioctl(ns.get(), NS_GET_PARENT));
  if (parent) links.parent_inode = InodeOf(parent.get());
  UniqueFd owner(ioctl(ns.get(), NS_GET_USERNS));
  if (owner) links.owner_userns_inode = InodeOf(owner.get());
  return links;
}

}  // namespace pidscope
