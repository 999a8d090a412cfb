// IdentifyCgroupPath over real-world cgroup paths, one row each, collected from the runtimes'
// issue trackers and documentation and from other projects' test data (each row names where its
// path was seen; ids are theirs). Where only a layout was published, with the id elided, the row
// says so and borrows an id from another row of the same runtime. Then IdentifyCgroups over
// whole /proc/<pid>/cgroup files of hybrid (v1 + v2) hosts.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "procfs/parse.hpp"
#include "resolve/cgroup_identity.hpp"

namespace pidscope {
namespace {

struct Row {
  const char* name;
  const char* path;
  const char* runtime;  // nullptr: the path names no container (and no pod)
  const char* id = "";
  const char* pod_uid = "";
  const char* qos = "";
  int depth = 0;
  const char* role = "container";
};

const Row kRows[] = {
    // ---------------------------------------------------------------- Docker
    // moby/moby#33352 (cgroup v1, cgroupfs driver).
    {.name = "DockerCgroupfs",
     .path = "/docker/5dace3de0735f73d2b5048f12d41a71741a02e49668de921fdae62f7e65dc498",
     .runtime = "docker",
     .id = "5dace3de0735f73d2b5048f12d41a71741a02e49668de921fdae62f7e65dc498"},
    // neuvector/neuvector share/system/cgroup_test.go TestDockerIDCentOS (systemd driver).
    {.name = "DockerSystemdScope",
     .path = "/system.slice/"
             "docker-9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d.scope",
     .runtime = "docker",
     .id = "9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d"},
    // moby/moby#4450 (systemd-cgls in the PR adding the systemd driver: system-docker.slice).
    {.name = "DockerSystemDockerSlice",
     .path = "/system.slice/system-docker.slice/"
             "docker-d6b15f04feb95083acea4b9caa6e59f8ebe67e3e3cf9cb8c59fad543490ee3ef.scope",
     .runtime = "docker",
     .id = "d6b15f04feb95083acea4b9caa6e59f8ebe67e3e3cf9cb8c59fad543490ee3ef"},
    // Rootless Docker: the layout from docker/docs#14545, the unit name from moby/moby#45014
    // (rootless dockerd asking the user manager for "docker-<id>.scope" in user.slice).
    {.name = "DockerRootless",
     .path = "/user.slice/user-1000.slice/user@1000.service/user.slice/"
             "docker-17cf4f4cf9e70ec40048541524c9ce751f3e1a1ec87074b2a746ebdaad9fa2cd.scope",
     .runtime = "docker",
     .id = "17cf4f4cf9e70ec40048541524c9ce751f3e1a1ec87074b2a746ebdaad9fa2cd"},
    // Docker-in-Docker, cgroupfs at both levels: neuvector cgroup_test.go TestDockerIDRancherOS.
    {.name = "DockerInDockerCgroupfs",
     .path = "/docker/a9a5ad238e59234193ee7ec3fcff5e735b3708ea1068826952255b69e3cfa413/docker/"
             "ec08435e04266c5ba381fccbb829f626d11d8ddf5f8f547263c7a2d79ab4787a",
     .runtime = "docker",
     .id = "ec08435e04266c5ba381fccbb829f626d11d8ddf5f8f547263c7a2d79ab4787a",
     .depth = 1},
    // Docker-in-Docker in a pod (outer: dockershim with the systemd driver):
    // open-telemetry/opentelemetry-collector-contrib receiver/awscontainerinsightreceiver/
    // internal/cadvisor/container_info_processor.go (isContainerInContainer).
    {.name = "DockerInDockerInPod",
     .path = "/kubepods.slice/kubepods-burstable.slice/"
             "kubepods-burstable-podc9adcee4_c874_4dad_8bc8_accdbd67ac3a.slice/"
             "docker-e58cfbc8b67f6e1af458efdd31cb2a8abdbf9f95db64f4c852b701285a09d40e.scope/docker/"
             "fb651068cfbd4bf3d45fb092ec9451f8d1a36b3753687bbaa0a9920617eae5b9",
     .runtime = "docker",
     .id = "fb651068cfbd4bf3d45fb092ec9451f8d1a36b3753687bbaa0a9920617eae5b9",
     .pod_uid = "c9adcee4-c874-4dad-8bc8-accdbd67ac3a",
     .qos = "burstable",
     .depth = 1},
    // Docker inside a Podman container (crun's cgroupfs mount): containers/crun#703, quoted with
    // its trailing slash.
    {.name = "DockerInPodman",
     .path = "/machine.slice/"
             "libpod-4a8dd27841a96004bc286d609621c4deee11577073d999eaf81a8fc9e513a314.scope/docker/"
             "eefb2b2ee52bc02fd916e11c0d723a7b0a5af8fc05940091c91960523aaf0bad/",
     .runtime = "docker",
     .id = "eefb2b2ee52bc02fd916e11c0d723a7b0a5af8fc05940091c91960523aaf0bad",
     .depth = 1},
    // dockershim, systemd driver: lxc/lxc#3890.
    {.name = "DockershimBurstable",
     .path = "/kubepods.slice/kubepods-burstable.slice/"
             "kubepods-burstable-pod7d4424e6_bb13_42f4_a47a_45a4828bf54d.slice/"
             "docker-d0b3604b67ac7930dd34ba3a796627e3e4717d12309e90a4afe3f38b6816ac98.scope",
     .runtime = "docker",
     .id = "d0b3604b67ac7930dd34ba3a796627e3e4717d12309e90a4afe3f38b6816ac98",
     .pod_uid = "7d4424e6-bb13-42f4-a47a-45a4828bf54d",
     .qos = "burstable"},
    // A guaranteed pod has no QoS level in its slice name: opentelemetry-collector-contrib
    // container_info_processor.go (same comment as DockerInDockerInPod).
    {.name = "DockershimGuaranteed",
     .path = "/kubepods.slice/kubepods-podc8f7bb69_65f2_4b61_ae5a_9b19ac47a239.slice/"
             "docker-523b624a86a2a74c2bedf586d8448c86887ef7858a8dec037d6559e5ad3fccb5.scope",
     .runtime = "docker",
     .id = "523b624a86a2a74c2bedf586d8448c86887ef7858a8dec037d6559e5ad3fccb5",
     .pod_uid = "c8f7bb69-65f2-4b61-ae5a-9b19ac47a239",
     .qos = "guaranteed"},
    // A `docker build` step: cryptnono/cryptnono#47.
    {.name = "BuildkitStep",
     .path = "/docker/buildkit/t4967jvf8rbufklrhkicskyes",
     .runtime = "buildkit",
     .id = "t4967jvf8rbufklrhkicskyes"},

    // ------------------------------------------------------------ containerd
    // netdata/netdata#4868 (systemd-cgls of a containerd node).
    {.name = "ContainerdBurstable",
     .path =
         "/kubepods.slice/kubepods-burstable.slice/"
         "kubepods-burstable-pod55c6c714_b240_4dec_9a45_57b61696ab6e.slice/"
         "cri-containerd-2032491dcae31e6746f47daa0ac74564f2843a1bd847c5e6c4eb501ca132ac36.scope",
     .runtime = "containerd",
     .id = "2032491dcae31e6746f47daa0ac74564f2843a1bd847c5e6c4eb501ca132ac36",
     .pod_uid = "55c6c714-b240-4dec-9a45-57b61696ab6e",
     .qos = "burstable"},
    // netdata/netdata#4868: a static pod, whose UID is the kubelet's 32-hex hash.
    {.name = "ContainerdStaticPod",
     .path =
         "/kubepods.slice/kubepods-burstable.slice/"
         "kubepods-burstable-pod8daa50c3a64c9ff60bb9eab7b44b56fd.slice/"
         "cri-containerd-2884d57c0e100d7a9a2f9487ce0bc2986bca3430e988af7a4865aff061f51ac5.scope",
     .runtime = "containerd",
     .id = "2884d57c0e100d7a9a2f9487ce0bc2986bca3430e988af7a4865aff061f51ac5",
     .pod_uid = "8daa50c3a64c9ff60bb9eab7b44b56fd",
     .qos = "burstable"},
    // Bottlerocket: neuvector cgroup_test.go TestK8sBottleRocket.
    {.name = "ContainerdBestEffort",
     .path =
         "/kubepods.slice/kubepods-besteffort.slice/"
         "kubepods-besteffort-poddd1bf9d1_241d_47f5_8e25_12de83135812.slice/"
         "cri-containerd-f45298cd514d1930c4fe3afc4412e59547f7e3148fddd22ca33cefce046eb830.scope",
     .runtime = "containerd",
     .id = "f45298cd514d1930c4fe3afc4412e59547f7e3148fddd22ca33cefce046eb830",
     .pod_uid = "dd1bf9d1-241d-47f5-8e25-12de83135812",
     .qos = "besteffort"},
    // k3s (under colima), cgroup v2: cryptnono/cryptnono#47.
    {.name = "K3sContainerd",
     .path =
         "/kubepods.slice/kubepods-besteffort.slice/"
         "kubepods-besteffort-pod7fda01c4_0ece_403d_88b4_c371d66d132a.slice/"
         "cri-containerd-e58a24d4a722c99712cff74ef69d93311089584eb32617b3890e0dcb996133f1.scope",
     .runtime = "containerd",
     .id = "e58a24d4a722c99712cff74ef69d93311089584eb32617b3890e0dcb996133f1",
     .pod_uid = "7fda01c4-0ece-403d-88b4-c371d66d132a",
     .qos = "besteffort"},
    // containerd 1.4 on RHEL, systemd cgroupsPath taken literally as a directory name:
    // neuvector cgroup_test.go TestK8sContainerd_v1_4_4 (also containerd/containerd#5226).
    {.name = "ContainerdLiteralSystemdPath",
     .path = "/system.slice/containerd.service/"
             "kubepods-besteffort-pod2105e389_7471_476e_a50f_6074cef29bbd.slice:cri-containerd:"
             "d3d8ccf5cca91931c6285c1d7472c413dd5a7700fddc0aa9f89a9ac7008b003e",
     .runtime = "containerd",
     .id = "d3d8ccf5cca91931c6285c1d7472c413dd5a7700fddc0aa9f89a9ac7008b003e",
     .pod_uid = "2105e389-7471-476e-a50f-6074cef29bbd",
     .qos = "besteffort"},
    // The same process in the freezer hierarchy (TestK8sContainerd_v1_4_4): no parent unit.
    {.name = "ContainerdLiteralSystemdPathAtRoot",
     .path = "/kubepods-besteffort-pod2105e389_7471_476e_a50f_6074cef29bbd.slice:cri-containerd:"
             "d3d8ccf5cca91931c6285c1d7472c413dd5a7700fddc0aa9f89a9ac7008b003e",
     .runtime = "containerd",
     .id = "d3d8ccf5cca91931c6285c1d7472c413dd5a7700fddc0aa9f89a9ac7008b003e",
     .pod_uid = "2105e389-7471-476e-a50f-6074cef29bbd",
     .qos = "besteffort"},
    // kind node seen from the host: sustainable-computing-io/kepler
    // internal/resource/container_test.go ("Nested containers in same cgroup path").
    {.name = "KindNodeFromHost",
     .path =
         "/system.slice/"
         "docker-fd9d0ea06257a9780827cbc7fd92e3812a54fca26d63e191b73610d5d48b9cbd.scope/"
         "kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
         "kubelet-kubepods-besteffort-podeab5a334_93fe_48a8_b139_9e8079c1f163.slice/"
         "cri-containerd-99f3a16ea25b7724cb56a4f0c0df1113ad9474fbf5545bead97fd5c7f61c13f4.scope",
     .runtime = "containerd",
     .id = "99f3a16ea25b7724cb56a4f0c0df1113ad9474fbf5545bead97fd5c7f61c13f4",
     .pod_uid = "eab5a334-93fe-48a8-b139-9e8079c1f163",
     .qos = "besteffort",
     .depth = 1},
    // kind on RHEL (cgroup v1), a static pod: kepler pkg/kubelet/pod_lister_test.go (rhelDocker).
    {.name = "KindStaticPodV1",
     .path =
         "/system.slice/"
         "docker-c27755f0fa91e81ababc85ef05cb227227a4228da2e5cb2f4999299c89d4ac69.scope/"
         "kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/"
         "kubelet-kubepods-burstable-podd8992f589d8dd12c4342376ccb459375.slice/"
         "cri-containerd-ecbcea5cd29afb25ba519715e827cda9e66cd0a914207f49ce0a292a6aa84d66.scope",
     .runtime = "containerd",
     .id = "ecbcea5cd29afb25ba519715e827cda9e66cd0a914207f49ce0a292a6aa84d66",
     .pod_uid = "d8992f589d8dd12c4342376ccb459375",
     .qos = "burstable",
     .depth = 1},
    // kind seen from inside the node (private cgroup namespace): containerd/nri#227.
    {.name = "KindInsideNode",
     .path =
         "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
         "kubelet-kubepods-besteffort-pod1e597579_417e_482f_bf65_5fe170c3aebd.slice/"
         "cri-containerd-a09bc17f5aa29b0dbdec9ede5f46cf1396d2405917ab02e6f1eb1019f388396e.scope",
     .runtime = "containerd",
     .id = "a09bc17f5aa29b0dbdec9ede5f46cf1396d2405917ab02e6f1eb1019f388396e",
     .pod_uid = "1e597579-417e-482f-bf65-5fe170c3aebd",
     .qos = "besteffort"},
    // nerdctl on systemd-managed containerd: the layout from falcosecurity/plugins#1378 (id
    // elided there; this one is borrowed from ContainerdBurstable).
    {.name = "NerdctlScope",
     .path = "/system.slice/"
             "nerdctl-2032491dcae31e6746f47daa0ac74564f2843a1bd847c5e6c4eb501ca132ac36.scope",
     .runtime = "containerd",
     .id = "2032491dcae31e6746f47daa0ac74564f2843a1bd847c5e6c4eb501ca132ac36"},
    // Plain containerd: "/<namespace>/<id>" from containerd/containerd#1617 (whose example uses
    // namespaces "to" and "te"), here in ctr's default namespace.
    {.name = "ContainerdDefaultNamespace",
     .path = "/default/redis",
     .runtime = "containerd",
     .id = "redis"},

    // ---------------------------------- Kubernetes, cgroupfs driver (runtime not in the path)
    // containerd 1.2: neuvector cgroup_test.go TestK8sContainerd_v1_2_13.
    {.name = "CgroupfsBestEffort",
     .path = "/kubepods/besteffort/poda36d0c1d-0b26-4451-8d80-9c195e004afa/"
             "5dd96d5394ca930a854a390ea46f7515a8bc930123eb3251ba20f2708a38fc61",
     .runtime = "unknown",
     .id = "5dd96d5394ca930a854a390ea46f7515a8bc930123eb3251ba20f2708a38fc61",
     .pod_uid = "a36d0c1d-0b26-4451-8d80-9c195e004afa",
     .qos = "besteffort"},
    // A version-1 (time-based) UUID: GoogleContainerTools/kaniko pkg/util/proc/proc_test.go.
    {.name = "CgroupfsBurstable",
     .path = "/kubepods/burstable/pod98051bd2-a5fa-11e8-9bb9-0a58ac1f31f2/"
             "74998d19bd3c7423744214c344c6e814d19b7908a92f165f9d58243073a27a47",
     .runtime = "unknown",
     .id = "74998d19bd3c7423744214c344c6e814d19b7908a92f165f9d58243073a27a47",
     .pod_uid = "98051bd2-a5fa-11e8-9bb9-0a58ac1f31f2",
     .qos = "burstable"},
    // Guaranteed: a Rust cgroup-limits unit test (CgroupEntry::from_line) found through the
    // code index, which does not name its repository.
    {.name = "CgroupfsGuaranteed",
     .path = "/kubepods/pod5b977639-f878-469b-94ee-47a4aa7e597a/"
             "dd55abbabd99bcb4d2ce17ffa77d6f811c90e09202f537c273962a8259cac8a0",
     .runtime = "unknown",
     .id = "dd55abbabd99bcb4d2ce17ffa77d6f811c90e09202f537c273962a8259cac8a0",
     .pod_uid = "5b977639-f878-469b-94ee-47a4aa7e597a",
     .qos = "guaranteed"},
    // kube-proxy makes a cgroup below its container's: neuvector TestK8sProxyProcess.
    {.name = "CgroupfsChildOfContainer",
     .path = "/kubepods/besteffort/podf8a694f2-7c08-11e9-98da-000c29077430/"
             "c04e0a88a1de067f25bece337d4dbb897396e0b623c2a65330850fc9823f1903/kube-proxy",
     .runtime = "unknown",
     .id = "c04e0a88a1de067f25bece337d4dbb897396e0b623c2a65330850fc9823f1903",
     .pod_uid = "f8a694f2-7c08-11e9-98da-000c29077430",
     .qos = "besteffort"},
    // kind with the cgroupfs driver (cgroup root /kubelet), quoted without its leading slash:
    // kepler internal/resource/container_test.go ("valid path with cgroup kubelet").
    {.name = "CgroupfsKindRelative",
     .path = "kubelet/kubepods/besteffort/podbdd4097d-6795-404e-9bd8-6a1383386198/"
             "c79788e0da15a6597263eb2b9c51d05dd1a9a1d08c53c1161dc8c45d2dac6b38",
     .runtime = "unknown",
     .id = "c79788e0da15a6597263eb2b9c51d05dd1a9a1d08c53c1161dc8c45d2dac6b38",
     .pod_uid = "bdd4097d-6795-404e-9bd8-6a1383386198",
     .qos = "besteffort"},
    // An id under no runtime's directory (old Docker on Debian): neuvector TestDockerIDDebian.
    {.name = "BareIdAtRoot",
     .path = "/4f797c539e6c745de61a93ca3ff892358ecbcaccd8414d5db545c38428142970",
     .runtime = "unknown",
     .id = "4f797c539e6c745de61a93ca3ff892358ecbcaccd8414d5db545c38428142970"},

    // ----------------------------------------------------------------- CRI-O
    // OpenShift 4.6 (CRI-O 1.19): neuvector cgroup_test.go TestK8sCrio_v1_19.
    {.name = "CrioBestEffort",
     .path = "/kubepods.slice/kubepods-besteffort.slice/"
             "kubepods-besteffort-pod8ca306fa_3c03_47fa_97dd_19979c345572.slice/"
             "crio-d6d725b909f37c3e232aadfbafa950a58bfe7baa579ba8c47a12be88bb921607.scope",
     .runtime = "cri-o",
     .id = "d6d725b909f37c3e232aadfbafa950a58bfe7baa579ba8c47a12be88bb921607",
     .pod_uid = "8ca306fa-3c03-47fa-97dd-19979c345572",
     .qos = "besteffort"},
    // OpenShift 4.4 (CRI-O 1.17), a static pod: neuvector TestK8sCrio_v1_17.
    {.name = "CrioStaticPod",
     .path = "/kubepods.slice/kubepods-burstable.slice/"
             "kubepods-burstable-pod487a0dc6dccaeefbcfedba7a7ce1ca18.slice/"
             "crio-7a1fd6fe8cdfbd44dc78c4cc85dad7031eaab4365801684cad0aabdeaf863f9e.scope",
     .runtime = "cri-o",
     .id = "7a1fd6fe8cdfbd44dc78c4cc85dad7031eaab4365801684cad0aabdeaf863f9e",
     .pod_uid = "487a0dc6dccaeefbcfedba7a7ce1ca18",
     .qos = "burstable"},
    // calico-node under CRI-O: opencontainers/runc#4620.
    {.name = "CrioBurstable",
     .path = "/kubepods.slice/kubepods-burstable.slice/"
             "kubepods-burstable-poda5c1f8d5_1919_434d_add7_4afaafdaef89.slice/"
             "crio-5eed917563583925ffdbd40a64efb2aaffe58638e57add8becaf460fe74f5b1c.scope",
     .runtime = "cri-o",
     .id = "5eed917563583925ffdbd40a64efb2aaffe58638e57add8becaf460fe74f5b1c",
     .pod_uid = "a5c1f8d5-1919-434d-add7-4afaafdaef89",
     .qos = "burstable"},
    // The pod's pause container is a container too: openshift/microshift#697.
    {.name = "CrioPause",
     .path = "/kubepods.slice/kubepods-besteffort.slice/"
             "kubepods-besteffort-podc8bad552_5c99_4d4f_b71c_c426c0cde014.slice/"
             "crio-d61328552873b5145655fa7918c7fbbce53dbe076d6c2b5fc95d660709af29c2.scope",
     .runtime = "cri-o",
     .id = "d61328552873b5145655fa7918c7fbbce53dbe076d6c2b5fc95d660709af29c2",
     .pod_uid = "c8bad552-5c99-4d4f-b71c-c426c0cde014",
     .qos = "besteffort"},
    // conmon in system.slice (CRI-O's default conmon_cgroup): openshift/microshift#697.
    {.name = "CrioConmon",
     .path = "/system.slice/"
             "crio-conmon-e0c85fe7644a858988d9687c2e0736a7d31922740d0f3e001c6b2e0aa7e5f528.scope",
     .runtime = "cri-o",
     .id = "e0c85fe7644a858988d9687c2e0736a7d31922740d0f3e001c6b2e0aa7e5f528",
     .role = "conmon"},
    // minikube's docker driver runs the node in a Docker container, CRI-O inside:
    // kubernetes/minikube#11280 (this one is /pause).
    {.name = "CrioInMinikubeNode",
     .path = "/docker/d6701ec289c56e4391acb11d07474b3139466857a305490575508a8b7a9fcf22/"
             "kubepods.slice/kubepods-besteffort.slice/"
             "kubepods-besteffort-pod2ca4a155_3599_498d_bb9d_4446693fa3ea.slice/"
             "crio-0ba8ac17e4e7a31fb82279503552fe94e64bab4745bf6fd2ff231e7c8ca8bed0.scope",
     .runtime = "cri-o",
     .id = "0ba8ac17e4e7a31fb82279503552fe94e64bab4745bf6fd2ff231e7c8ca8bed0",
     .pod_uid = "2ca4a155-3599-498d-bb9d-4446693fa3ea",
     .qos = "besteffort",
     .depth = 1},
    // CRI-O with cgroupfs names the cgroup "crio-<id>" under the pod: cri-o/cri-o#812 (layout
    // only; pod and id borrowed from CrioBestEffort).
    {.name = "CrioCgroupfs",
     .path = "/kubepods/besteffort/pod8ca306fa-3c03-47fa-97dd-19979c345572/"
             "crio-d6d725b909f37c3e232aadfbafa950a58bfe7baa579ba8c47a12be88bb921607",
     .runtime = "cri-o",
     .id = "d6d725b909f37c3e232aadfbafa950a58bfe7baa579ba8c47a12be88bb921607",
     .pod_uid = "8ca306fa-3c03-47fa-97dd-19979c345572",
     .qos = "besteffort"},

    // ---------------------------------------------------------------- Podman
    // containers/podman#507 (systemd-cgls: container and its conmon side by side).
    {.name = "PodmanScope",
     .path = "/machine.slice/"
             "libpod-0411a2a82311fbc65b137ca550d5f7e6b6863bc734759be2f515b0b67062d49a.scope",
     .runtime = "podman",
     .id = "0411a2a82311fbc65b137ca550d5f7e6b6863bc734759be2f515b0b67062d49a"},
    {.name = "PodmanConmon",
     .path = "/machine.slice/"
             "libpod-conmon-0411a2a82311fbc65b137ca550d5f7e6b6863bc734759be2f515b0b67062d49a.scope",
     .runtime = "podman",
     .id = "0411a2a82311fbc65b137ca550d5f7e6b6863bc734759be2f515b0b67062d49a",
     .role = "conmon"},
    // crun puts the payload in ".../container" when the container runs systemd (cgroup v2):
    // kepler internal/resource/container_test.go ("podman rootful container").
    {.name = "PodmanSystemdInside",
     .path = "/machine.slice/"
             "libpod-06dc5f321aad8726aa26559f16ec203bc099245bc44894b14a89fc02b022d1d5.scope/"
             "container",
     .runtime = "podman",
     .id = "06dc5f321aad8726aa26559f16ec203bc099245bc44894b14a89fc02b022d1d5"},
    // Rootless: kepler container_test.go ("podman rootless container").
    {.name = "PodmanRootless",
     .path = "/user.slice/user-1000.slice/user@1000.service/user.slice/"
             "libpod-3f05ee050f82c0145f1d88c94269c39dff0f07dbf8bba20aafd54b3a75dcaecc.scope/"
             "container",
     .runtime = "podman",
     .id = "3f05ee050f82c0145f1d88c94269c39dff0f07dbf8bba20aafd54b3a75dcaecc"},
    // A quadlet (--cgroups=split): kepler container_test.go ("podman quadlet").
    {.name = "PodmanQuadletPayload",
     .path = "/system.slice/kepler.service/"
             "libpod-payload-8e363eb2287da4ccc9f52ffc5de11252ac5fe707e3ddb917a3c0bdf9bb64165b",
     .runtime = "podman",
     .id = "8e363eb2287da4ccc9f52ffc5de11252ac5fe707e3ddb917a3c0bdf9bb64165b"},
    // A pod's infra container: containers/podman#13673. "machine-libpod_pod_<id>.slice" is a
    // slice, not machined's machine scope.
    {.name = "PodmanPodInfra",
     .path = "/machine.slice/"
             "machine-libpod_pod_ddf44d54b520f0b4469fcd01c3155ca49e6911dc2175471eb3a7b789187a7a89."
             "slice/libpod-1dadda571b14eefb3158a15d0fff7e0089f9dd92f922679ed0116cccdfe8bb0f.scope/"
             "container",
     .runtime = "podman",
     .id = "1dadda571b14eefb3158a15d0fff7e0089f9dd92f922679ed0116cccdfe8bb0f"},
    // cgroupfs manager: the layout from containers/podman#14236 and containers/crun#703 (ids cut
    // there); the id is podman's from containers/podman#8480.
    {.name = "PodmanCgroupfs",
     .path =
         "/libpod_parent/libpod-3bc14872777de686061f88f78fe8329d6ac09f998ba5765c2df9fea5c4a13314",
     .runtime = "podman",
     .id = "3bc14872777de686061f88f78fe8329d6ac09f998ba5765c2df9fea5c4a13314"},

    // --------------------------------------------------- machined: nspawn, libvirt, rkt
    // GoogleContainerTools/kaniko pkg/util/proc/proc_test.go ("nspawn").
    {.name = "NspawnMachine",
     .path = "/machine.slice/machine-nspawntest.scope",
     .runtime = "systemd-nspawn",
     .id = "nspawntest"},
    // nspawn's delegated subtree: systemd/systemd#18104 (layout; machine name from the row
    // above), with a service of the container's own systemd below it.
    {.name = "NspawnPayload",
     .path =
         "/machine.slice/machine-nspawntest.scope/payload/system.slice/systemd-journald.service",
     .runtime = "systemd-nspawn",
     .id = "nspawntest"},
    {.name = "NspawnSupervisor",
     .path = "/machine.slice/machine-nspawntest.scope/supervisor",
     .runtime = "systemd-nspawn",
     .id = "nspawntest",
     .role = "supervisor"},
    // `machinectl start` runs the template unit with --keep-unit, so there is no machine scope:
    // delphix/appliance-build upgrade/FAQ.md (systemctl status of the unit; the process shown is
    // systemd-nspawn itself, directly in the unit's cgroup as before the payload split).
    {.name = "NspawnTemplateService",
     .path = "/machine.slice/systemd-nspawn@delphix.uE0noy5.service",
     .runtime = "systemd-nspawn",
     .id = "delphix.uE0noy5"},
    // An unprivileged machine under a user manager, as machinectl prints its subgroup (relative
    // to the user manager's cgroup): systemd/systemd test/units/TEST-13-NSPAWN.unpriv.sh.
    {.name = "NspawnTemplatePayload",
     .path = "machine.slice/systemd-nspawn@zurps.service/payload",
     .runtime = "systemd-nspawn",
     .id = "zurps"},
    // A machine name with escaped dashes (and dots): systemd/systemd#38440 (TEST-13-NSPAWN).
    {.name = "NspawnEscapedName",
     .path = "/machine.slice/machine-TEST\\x2d13\\x2dNSPAWN.machinectl\\x2dbind.7ye.scope",
     .runtime = "systemd-nspawn",
     .id = "TEST-13-NSPAWN.machinectl-bind.7ye"},
    // A libvirt guest's emulator thread group: libvirt/libvirt docs/kbase/qemu-core-dump.rst.
    {.name = "LibvirtQemuGuest",
     .path = "/machine.slice/machine-qemu\\x2d1\\x2df30.scope/libvirt/emulator",
     .runtime = "libvirt",
     .id = "f30",
     .role = "vm"},
    // rkt pod registered with machined: kaniko pkg/util/proc/proc_test.go ("rkt").
    {.name = "RktPod",
     .path = "/machine.slice/"
             "machine-rkt\\x2dbfb7d57e\\x2d80ff\\x2d4ef8\\x2db602\\x2d9b907b3f3a38.scope/"
             "system.slice/debian.service",
     .runtime = "rkt",
     .id = "bfb7d57e-80ff-4ef8-b602-9b907b3f3a38"},

    // ------------------------------------------------------------- LXC / LXD
    // LXC 3.1+ split hierarchy: htop-dev/htop#217 (container and its monitor).
    {.name = "LxcPayloadDirectory",
     .path = "/lxc.payload/example/init.scope",
     .runtime = "lxc",
     .id = "example"},
    {.name = "LxcMonitorDirectory",
     .path = "/lxc.monitor/example",
     .runtime = "lxc",
     .id = "example",
     .role = "monitor"},
    // LXD with LXC 4 (flattened names): hishamhm/htop#328.
    {.name = "LxdPayload",
     .path = "/lxc.payload.buster/system.slice/networking.service",
     .runtime = "lxc",
     .id = "buster"},
    // LXD snap, cgroup v1: canonical/lxd#8917 (liblxc trace "Moved container into ...").
    {.name = "LxdSnapPayload", .path = "/lxc.payload.t5", .runtime = "lxc", .id = "t5"},
    // LXC on Alpine, cgroup v2: lxc/lxc#4376.
    {.name = "LxcPayloadV2", .path = "/lxc.payload.a1", .runtime = "lxc", .id = "a1"},
    // Older LXC: draios/sysdig#801 (with the container's systemd below) and kaniko proc_test.go.
    {.name = "LxcLegacyWithSystemd",
     .path = "/lxc/x1/system.slice/snapd.service",
     .runtime = "lxc",
     .id = "x1"},
    {.name = "LxcLegacy", .path = "/lxc/debian2", .runtime = "lxc", .id = "debian2"},

    // -------------------------------------------- a pod's cgroup, in none of its containers
    // cgroupfs: google/cadvisor#2540.
    {.name = "PodOnlyCgroupfs",
     .path = "/kubepods/burstable/pod1ff47ee6-9685-4726-ac6f-0ff070c452d6",
     .runtime = "",
     .pod_uid = "1ff47ee6-9685-4726-ac6f-0ff070c452d6",
     .qos = "burstable",
     .role = "pod"},
    // A cgroup under a pod that no runtime made: kubernetes/kubernetes#109105.
    {.name = "PodOnlyForeignChild",
     .path = "/kubepods/burstable/pod03f3a69f-82ff-4368-a1aa-16ddaf74ac22/xmrig",
     .runtime = "",
     .pod_uid = "03f3a69f-82ff-4368-a1aa-16ddaf74ac22",
     .qos = "burstable",
     .role = "pod"},
    // systemd driver: nestybox/sysbox#893.
    {.name = "PodOnlySlice",
     .path = "/kubepods.slice/kubepods-besteffort.slice/"
             "kubepods-besteffort-pod368236bb_a128_48e2_a105_0b2c1c7a24e5.slice",
     .runtime = "",
     .pod_uid = "368236bb-a128-48e2-a105-0b2c1c7a24e5",
     .qos = "besteffort",
     .role = "pod"},

    // ------------------------------------------------------------- no identity
    // The daemons' units: ctrsploit/ctrsploit#280, vdloo/raptiformica#287.
    {.name = "ContainerdDaemon", .path = "/system.slice/containerd.service", .runtime = nullptr},
    {.name = "DockerDaemon", .path = "/system.slice/docker.service", .runtime = nullptr},
    // A login session: libcgroup/libcgroup#335.
    {.name = "LoginSession",
     .path = "/user.slice/user-1000.slice/session-1080.scope",
     .runtime = nullptr},
    // PID 1: https://utcc.utoronto.ca/~cks/space/blog/linux/SystemdCgroupsHierarchies.
    {.name = "InitScope", .path = "/init.scope", .runtime = nullptr},
    // The root, as a process in a private cgroup namespace sees it.
    {.name = "Root", .path = "/", .runtime = nullptr},
    // Podman's own scope for a rootless run, and a terminal's: containers/podman#20910.
    {.name = "PodmanProcessScope",
     .path = "/user.slice/user-10000.slice/user@10000.service/user.slice/podman-239302.scope",
     .runtime = nullptr},
    {.name = "TerminalScope",
     .path = "/user.slice/user-10000.slice/user@10000.service/app.slice/"
             "app-org.gnome.Terminal.slice/vte-spawn-f22f14d2-3d44-4304-9879-3fdd0df7b08e.scope",
     .runtime = nullptr},
    // A service in machine.slice is not a machine: containers/podman#507.
    {.name = "ServiceInMachineSlice", .path = "/machine.slice/redis.service", .runtime = nullptr},
    // Pre-systemd-205 session layout: neuvector TestNsEnterProcess.
    {.name = "OldSessionLayout", .path = "/user/1000.user/c2.session", .runtime = nullptr},
    // nspawn --register=no --keep-unit leaves no machine scope: systemd/systemd#16796.
    {.name = "NspawnKeepUnit",
     .path = "/user.slice/user-1001.slice/user@1001.service/leaky.scope/payload/system.slice/"
             "dbus-broker.service",
     .runtime = nullptr},
    // A QoS level is not a pod: kubernetes/minikube#11280 (the tree under kubepods.slice).
    {.name = "QosSliceOnly",
     .path = "/kubepods.slice/kubepods-besteffort.slice",
     .runtime = nullptr},
    // CRI-O's double-encoded slice names from a kubelet/CRI-O driver mismatch: cri-o/cri-o#842.
    {.name = "DoubleEncodedSlices",
     .path =
         "/kubepods.slice.slice/kubepods.slice-kubepods_burstable.slice.slice/"
         "kubepods.slice-kubepods_burstable.slice-kubepods_burstable_pod12723d69_9268_11e7_84d0_"
         "c85b76cda386.slice.slice",
     .runtime = nullptr},
    // A short id is no id: pidscope's own tests/data/procfs/synthetic/cgroup-v1-named-colon.
    {.name = "ShortDockerId",
     .path = "/system.slice/docker-3f2a9c0e1b7d.scope/sub:dir:with:colons",
     .runtime = nullptr},
    // Plain containerd outside the default namespace is not taken (any two-level path has that
    // shape): containerd/containerd#1617.
    {.name = "ContainerdOtherNamespace", .path = "/te/redis", .runtime = nullptr},
    // LXC 3.1's pivot cgroup is no container: lxc/lxc#2782.
    {.name = "LxcPivot", .path = "/lxc.pivot", .runtime = nullptr},
    // The runtime's cgroup on an IBM Cloud node: containerd/containerd#3133.
    {.name = "PodRuntimeSlice", .path = "/podruntime/runtime", .runtime = nullptr},
};

class CgroupIdentityRow : public ::testing::TestWithParam<Row> {};

TEST_P(CgroupIdentityRow, MatchesWhatTheRuntimeWrote) {
  const Row& row = GetParam();
  auto identity = IdentifyCgroupPath(row.path);
  if (row.runtime == nullptr) {
    EXPECT_FALSE(identity.has_value()) << "runtime " << identity->runtime << " id " << identity->id;
    return;
  }
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(identity->runtime, row.runtime);
  EXPECT_EQ(identity->id, row.id);
  EXPECT_EQ(identity->pod_uid, row.pod_uid);
  EXPECT_EQ(identity->qos_class, row.qos);
  EXPECT_EQ(identity->in_kubernetes, *row.pod_uid != '\0');
  EXPECT_EQ(identity->nesting_depth, row.depth);
  EXPECT_EQ(identity->role, row.role);
  EXPECT_EQ(identity->cgroup_path, row.path);
}

INSTANTIATE_TEST_SUITE_P(CgroupIdentity, CgroupIdentityRow, ::testing::ValuesIn(kRows),
                         [](const ::testing::TestParamInfo<Row>& info) { return info.param.name; });

// The kernel marks a removed cgroup on the unified hierarchy with " (deleted)" (kernel/cgroup/
// cgroup.c, proc_cgroup_show), which a zombie keeps showing. The path is kept as read.
TEST(CgroupIdentityPath, DeletedSuffixIsNotPartOfTheId) {
  const std::string path =
      "/system.slice/docker-9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d.scope "
      "(deleted)";
  auto identity = IdentifyCgroupPath(path);
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(identity->runtime, "docker");
  EXPECT_EQ(identity->id, "9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d");
  EXPECT_EQ(identity->cgroup_path, path);
}

TEST(CgroupIdentityPath, IdsAreExactly64LowercaseHex) {
  const std::string id = "9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d";
  std::string upper = id;
  upper[0] = 'E';
  EXPECT_FALSE(IdentifyCgroupPath("/system.slice/docker-" + upper + ".scope"));
  EXPECT_FALSE(IdentifyCgroupPath("/system.slice/docker-" + id + "0.scope"));
  EXPECT_FALSE(IdentifyCgroupPath("/system.slice/docker-" + id.substr(1) + ".scope"));
  EXPECT_FALSE(IdentifyCgroupPath("/system.slice/docker-" + id + ".service"));
  EXPECT_FALSE(IdentifyCgroupPath("/system.slice/docker-" + id));  // no cgroupfs form
  EXPECT_FALSE(IdentifyCgroupPath("/system.slice/cri-containerd-" + id));
  EXPECT_TRUE(IdentifyCgroupPath("/system.slice/docker-" + id + ".scope"));
}

TEST(CgroupIdentityPath, PodUidMustBeAUuidOrAStaticPodHash) {
  const std::string id = "cri-containerd-" + std::string(64, 'a') + ".scope";
  // Dashes where the systemd driver writes underscores split the slice name differently.
  auto dashed = IdentifyCgroupPath(
      "/kubepods.slice/kubepods-besteffort.slice/"
      "kubepods-besteffort-pod7fda01c4-0ece-403d-88b4-c371d66d132a.slice/" +
      id);
  ASSERT_TRUE(dashed.has_value());
  EXPECT_FALSE(dashed->in_kubernetes);
  auto unknown_qos = IdentifyCgroupPath(
      "/kubepods.slice/kubepods-spot.slice/"
      "kubepods-spot-pod7fda01c4_0ece_403d_88b4_c371d66d132a.slice/" +
      id);
  ASSERT_TRUE(unknown_qos.has_value());
  EXPECT_FALSE(unknown_qos->in_kubernetes);
}

TEST(CgroupIdentityUnescape, DecodesSystemdEscapes) {
  EXPECT_EQ(UnescapeUnitName("machine-qemu\\x2d1\\x2df30.scope"), "machine-qemu-1-f30.scope");
  EXPECT_EQ(UnescapeUnitName("system-l8r\\x2Ddomaintld.slice"), "system-l8r-domaintld.slice");
  EXPECT_EQ(UnescapeUnitName("a\\x2"), "a\\x2");
  EXPECT_EQ(UnescapeUnitName("a\\xzz"), "a\\xzz");
  EXPECT_EQ(UnescapeUnitName("\\\\x2d"), "\\-");
  EXPECT_EQ(UnescapeUnitName(""), "");
}

CgroupSet ToSet(std::string_view text) {
  CgroupSet set;
  for (auto& entry : procfs::ParseCgroup(text)) {
    set.push_back(Cgroup{entry.hierarchy_id, std::move(entry.controllers), std::move(entry.path)});
  }
  return set;
}

// cgroupfs Docker on a hybrid host: the unified line names the daemon, v1 the container.
// ctrsploit/ctrsploit#280.
TEST(CgroupIdentitySet, HybridDockerCgroupfsFallsBackToNameSystemd) {
  const char* text =
      "12:net_cls,net_prio:/docker/"
      "2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d\n"
      "11:freezer:/docker/2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d\n"
      "10:rdma:/\n"
      "9:blkio:/docker/2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d\n"
      "8:memory:/docker/2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d\n"
      "7:perf_event:/docker/2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d\n"
      "6:hugetlb:/docker/2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d\n"
      "5:cpuset:/docker/2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d\n"
      "4:devices:/docker/2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d\n"
      "3:pids:/docker/2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d\n"
      "2:cpu,cpuacct:/docker/2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d\n"
      "1:name=systemd:/docker/2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d\n"
      "0::/system.slice/containerd.service\n";
  auto identity = IdentifyCgroups(ToSet(text));
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(identity->runtime, "docker");
  EXPECT_EQ(identity->id, "2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d");
  EXPECT_EQ(identity->cgroup_path,
            "/docker/2403ccfe427f1dc7b6120dccb9ac58c2f8456950380d587a9f33ea7f00dd303d");
}

// name=systemd and pids left at the root while memory and cpu name the container:
// moby/moby#33352. The memory line is taken before the cpu line.
TEST(CgroupIdentitySet, RootNameSystemdFallsBackToMemory) {
  const char* text =
      "13:pids:/\n"
      "12:hugetlb:/\n"
      "11:net_prio:/\n"
      "10:perf_event:/docker/5dace3de0735f73d2b5048f12d41a71741a02e49668de921fdae62f7e65dc498\n"
      "9:net_cls:/\n"
      "8:freezer:/docker/5dace3de0735f73d2b5048f12d41a71741a02e49668de921fdae62f7e65dc498\n"
      "7:devices:/docker/5dace3de0735f73d2b5048f12d41a71741a02e49668de921fdae62f7e65dc498\n"
      "6:memory:/docker/5dace3de0735f73d2b5048f12d41a71741a02e49668de921fdae62f7e65dc498\n"
      "5:blkio:/docker/5dace3de0735f73d2b5048f12d41a71741a02e49668de921fdae62f7e65dc498\n"
      "4:cpuacct:/docker/5dace3de0735f73d2b5048f12d41a71741a02e49668de921fdae62f7e65dc498\n"
      "3:cpu:/docker/5dace3de0735f73d2b5048f12d41a71741a02e49668de921fdae62f7e65dc498\n"
      "2:cpuset:/docker/5dace3de0735f73d2b5048f12d41a71741a02e49668de921fdae62f7e65dc498\n"
      "1:name=systemd:/\n";
  CgroupSet set = ToSet(text);
  auto identity = IdentifyCgroups(set);
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(identity->runtime, "docker");
  EXPECT_EQ(identity->id, "5dace3de0735f73d2b5048f12d41a71741a02e49668de921fdae62f7e65dc498");
  // Which line was used shows only when paths differ: make the cpu line name another container.
  set[10].path = "/docker/" + std::string(64, 'c');
  EXPECT_EQ(IdentifyCgroups(set)->id,
            "5dace3de0735f73d2b5048f12d41a71741a02e49668de921fdae62f7e65dc498");
}

// containerd 1.4 on RHEL: the paths differ per hierarchy (some under containerd.service, some at
// the root), all naming the same container and pod. neuvector TestK8sContainerd_v1_4_4.
TEST(CgroupIdentitySet, ContainerdLiteralPathsDifferPerHierarchy) {
  const char* text =
      "11:pids:/system.slice/containerd.service/"
      "kubepods-besteffort-pod2105e389_7471_476e_a50f_6074cef29bbd.slice:cri-containerd:"
      "d3d8ccf5cca91931c6285c1d7472c413dd5a7700fddc0aa9f89a9ac7008b003e\n"
      "10:freezer:/kubepods-besteffort-pod2105e389_7471_476e_a50f_6074cef29bbd.slice:"
      "cri-containerd:d3d8ccf5cca91931c6285c1d7472c413dd5a7700fddc0aa9f89a9ac7008b003e\n"
      "4:memory:/system.slice/containerd.service/"
      "kubepods-besteffort-pod2105e389_7471_476e_a50f_6074cef29bbd.slice:cri-containerd:"
      "d3d8ccf5cca91931c6285c1d7472c413dd5a7700fddc0aa9f89a9ac7008b003e\n"
      "3:hugetlb:/kubepods-besteffort-pod2105e389_7471_476e_a50f_6074cef29bbd.slice:"
      "cri-containerd:d3d8ccf5cca91931c6285c1d7472c413dd5a7700fddc0aa9f89a9ac7008b003e\n"
      "1:name=systemd:/system.slice/containerd.service/"
      "kubepods-besteffort-pod2105e389_7471_476e_a50f_6074cef29bbd.slice:cri-containerd:"
      "d3d8ccf5cca91931c6285c1d7472c413dd5a7700fddc0aa9f89a9ac7008b003e\n";
  auto identity = IdentifyCgroups(ToSet(text));
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(identity->runtime, "containerd");
  EXPECT_EQ(identity->id, "d3d8ccf5cca91931c6285c1d7472c413dd5a7700fddc0aa9f89a9ac7008b003e");
  EXPECT_EQ(identity->pod_uid, "2105e389-7471-476e-a50f-6074cef29bbd");
  EXPECT_EQ(identity->qos_class, "besteffort");
  EXPECT_TRUE(identity->cgroup_path.starts_with("/system.slice/containerd.service/"));
}

// An LXD container's service, hybrid host, unified line preferred: hishamhm/htop#328.
TEST(CgroupIdentitySet, LxdHybridPrefersUnifiedLine) {
  const char* text =
      "12:freezer:/lxc.payload.buster\n"
      "11:memory:/lxc.payload.buster/system.slice/networking.service\n"
      "10:devices:/lxc.payload.buster/system.slice/networking.service\n"
      "9:rdma:/lxc.payload.buster\n"
      "8:hugetlb:/lxc.payload.buster\n"
      "7:blkio:/lxc.payload.buster\n"
      "6:cpu,cpuacct:/lxc.payload.buster\n"
      "5:perf_event:/lxc.payload.buster\n"
      "4:net_cls,net_prio:/lxc.payload.buster\n"
      "3:cpuset:/lxc.payload.buster\n"
      "2:pids:/lxc.payload.buster/system.slice/networking.service\n"
      "1:name=systemd:/lxc.payload.buster/system.slice/networking.service\n"
      "0::/lxc.payload.buster/system.slice/networking.service\n";
  auto identity = IdentifyCgroups(ToSet(text));
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(identity->runtime, "lxc");
  EXPECT_EQ(identity->id, "buster");
  EXPECT_EQ(identity->cgroup_path, "/lxc.payload.buster/system.slice/networking.service");
}

// systemd-nspawn on a v1-only host, some controllers at the root or elsewhere:
// kaniko pkg/util/proc/proc_test.go ("nspawn").
TEST(CgroupIdentitySet, NspawnV1Only) {
  const char* text =
      "10:cpuset:/\n"
      "9:pids:/machine.slice/machine-nspawntest.scope\n"
      "8:devices:/machine.slice/machine-nspawntest.scope\n"
      "7:net_cls,net_prio:/\n"
      "6:freezer:/user/root/0\n"
      "5:blkio:/machine.slice/machine-nspawntest.scope\n"
      "4:memory:/machine.slice/machine-nspawntest.scope\n"
      "3:cpu,cpuacct:/machine.slice/machine-nspawntest.scope\n"
      "2:perf_event:/\n"
      "1:name=systemd:/machine.slice/machine-nspawntest.scope\n";
  auto identity = IdentifyCgroups(ToSet(text));
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(identity->runtime, "systemd-nspawn");
  EXPECT_EQ(identity->id, "nspawntest");
}

// cgroup v2 only: cryptnono/cryptnono#47.
TEST(CgroupIdentitySet, UnifiedOnly) {
  auto identity = IdentifyCgroups(
      ToSet("0::/kubepods.slice/kubepods-besteffort.slice/"
            "kubepods-besteffort-pod7fda01c4_0ece_403d_88b4_c371d66d132a.slice/"
            "cri-containerd-e58a24d4a722c99712cff74ef69d93311089584eb32617b3890e0dcb996133f1."
            "scope\n"));
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(identity->runtime, "containerd");
  EXPECT_EQ(identity->pod_uid, "7fda01c4-0ece-403d-88b4-c371d66d132a");
}

// A host process, every hierarchy at the root: neuvector TestHostProcess.
TEST(CgroupIdentitySet, HostProcessHasNoIdentity) {
  const char* text =
      "14:name=dsystemd:/\n13:name=systemd:/\n12:pids:/\n11:hugetlb:/\n10:net_prio:/\n"
      "9:perf_event:/\n8:net_cls:/\n7:freezer:/\n6:devices:/\n5:memory:/\n4:blkio:/\n"
      "3:cpuacct:/\n2:cpu:/\n1:cpuset:/\n";
  EXPECT_FALSE(IdentifyCgroups(ToSet(text)).has_value());
  EXPECT_FALSE(IdentifyCgroups({}).has_value());
}

// A line naming only the pod does not hide another naming the container in it (pod and ids from
// CgroupfsBestEffort; the mix itself is constructed).
TEST(CgroupIdentitySet, ContainerBeatsPodOnly) {
  const char* text =
      "4:memory:/kubepods/besteffort/poda36d0c1d-0b26-4451-8d80-9c195e004afa/"
      "5dd96d5394ca930a854a390ea46f7515a8bc930123eb3251ba20f2708a38fc61\n"
      "0::/kubepods/besteffort/poda36d0c1d-0b26-4451-8d80-9c195e004afa\n";
  auto identity = IdentifyCgroups(ToSet(text));
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(identity->role, "container");
  EXPECT_EQ(identity->id, "5dd96d5394ca930a854a390ea46f7515a8bc930123eb3251ba20f2708a38fc61");
  auto pod_only =
      IdentifyCgroups(ToSet("0::/kubepods/besteffort/poda36d0c1d-0b26-4451-8d80-9c195e004afa\n"));
  ASSERT_TRUE(pod_only.has_value());
  EXPECT_EQ(pod_only->role, "pod");
  EXPECT_EQ(pod_only->pod_uid, "a36d0c1d-0b26-4451-8d80-9c195e004afa");
}

}  // namespace
}  // namespace pidscope
