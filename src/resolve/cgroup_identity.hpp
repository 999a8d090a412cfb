// Which container a process runs in, read from its cgroup paths alone: the runtime that made the
// cgroup, the container's id, and the Kubernetes pod and QoS class around it. Pure functions over
// the text of /proc/<pid>/cgroup (v1 and v2, cgroupfs and systemd cgroup drivers); no I/O.
//
// A cgroup path names a container only by the conventions of the runtime that created it, so the
// answer is as good as those conventions: a path that follows none of them yields std::nullopt,
// never a guess. Ids are taken only in the exact form the runtime writes them (64 lowercase hex
// characters for Docker, containerd, CRI-O and Podman), so the daemons' own units
// (docker.service, containerd.service) and short or upper-case look-alikes are not containers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "model/process.hpp"

namespace pidscope {

// Runtime names as ContainerIdentity::runtime holds them.
inline constexpr std::string_view kRuntimeDocker = "docker";
inline constexpr std::string_view kRuntimeContainerd = "containerd";  // also nerdctl, k3s
inline constexpr std::string_view kRuntimeCrio = "cri-o";
inline constexpr std::string_view kRuntimePodman = "podman";
// A machined container ("machine-<name>.scope") or a systemd-nspawn@<name>.service.
inline constexpr std::string_view kRuntimeNspawn = "systemd-nspawn";
inline constexpr std::string_view kRuntimeLxc = "lxc";  // LXC, LXD and Incus alike
inline constexpr std::string_view kRuntimeLibvirtLxc = "libvirt-lxc";
inline constexpr std::string_view kRuntimeLibvirt = "libvirt";  // a QEMU guest, role kRoleVm
inline constexpr std::string_view kRuntimeRkt = "rkt";
inline constexpr std::string_view kRuntimeBuildkit = "buildkit";  // a `docker build` step
// A bare 64-hex cgroup under a Kubernetes pod (cgroupfs driver) or under a custom parent: a
// container, but containerd and Docker (dockershim, cri-dockerd) both name it that way.
inline constexpr std::string_view kRuntimeUnknown = "unknown";

// What the process is to the container the path names.
inline constexpr std::string_view kRoleContainer = "container";    // the payload
inline constexpr std::string_view kRoleConmon = "conmon";          // CRI-O/Podman's monitor
inline constexpr std::string_view kRoleMonitor = "monitor";        // LXC's monitor process
inline constexpr std::string_view kRoleSupervisor = "supervisor";  // systemd-nspawn itself
inline constexpr std::string_view kRoleVm = "vm";                  // a hypervisor process
// In a pod's cgroup but in none of its containers (runtime and id empty).
inline constexpr std::string_view kRolePod = "pod";

inline constexpr std::string_view kQosGuaranteed = "guaranteed";
inline constexpr std::string_view kQosBurstable = "burstable";
inline constexpr std::string_view kQosBestEffort = "besteffort";

struct ContainerIdentity {
  std::string runtime;  // kRuntime*; empty only for kRolePod
  // The full 64-hex id where the runtime has one; the machine name for machined containers and
  // libvirt guests, the container name for LXC (with an LXD/Incus project prefix if any), the
  // container id as given for plain containerd (`ctr run ... <id>`).
  std::string id;
  std::string pod_uid;    // with dashes, as the API server prints it; 32 hex for static pods
  std::string qos_class;  // kQos*, or empty outside Kubernetes
  bool in_kubernetes = false;
  std::string cgroup_path;  // the path it was derived from, as given
  int nesting_depth = 0;    // 0: outermost container; n: inside n others (Docker-in-Docker, kind)
  std::string role;         // kRole*
  // A pause (sandbox) container is a container like any other here: cgroups do not tell it apart.
};

// One cgroup path (the third field of a /proc/<pid>/cgroup line). For nested containers the
// innermost wins and nesting_depth counts the ones around it; the pod is the innermost pod
// around that container. A path that ends in a pod's cgroup below every container yields the
// pod alone (kRolePod). A trailing " (deleted)", which the kernel adds on the unified hierarchy
// for a removed cgroup, is ignored.
std::optional<ContainerIdentity> IdentifyCgroupPath(std::string_view path);

// The identity of a whole /proc/<pid>/cgroup. Lines are tried in order: the unified line
// ("0::"), then the v1 name=systemd line, then the pids, memory and cpu controllers, then the
// rest in file order, and the first that names a container wins (a pod alone only if no line
// names a container): hybrid hosts place a process differently per hierarchy, and a cgroupfs
// runtime often leaves the unified line at its daemon's unit.
std::optional<ContainerIdentity> IdentifyCgroups(const CgroupSet& set);

// systemd unit-name unescaping: "\xNN" becomes the byte 0xNN ("machine-qemu\x2d1\x2dvm.scope"
// -> "machine-qemu-1-vm.scope"); anything else, including a malformed escape, is kept as is.
std::string UnescapeUnitName(std::string_view name);

}  // namespace pidscope
