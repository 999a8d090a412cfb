#include "model/process_table.hpp"

#include <algorithm>

namespace pidscope {

void ProcessTable::Bootstrap(std::vector<Process> processes) {
  by_pid_.clear();
  children_.clear();
  by_pid_.reserve(processes.size());
  for (auto& process : processes) Upsert(std::move(process));
}

void ProcessTable::Upsert(Process process) {
  auto it = by_pid_.find(process.key.pid);
  if (it != by_pid_.end()) {
    UnlinkChild(it->second);
    it->second = std::move(process);
  } else {
    it = by_pid_.emplace(process.key.pid, std::move(process)).first;
  }
  LinkChild(it->second);
}

bool ProcessTable::Remove(const ProcessKey& key) {
  auto it = by_pid_.find(key.pid);
  if (it == by_pid_.end() || it->second.key != key) return false;
  UnlinkChild(it->second);
  by_pid_.erase(it);
  return true;
}

const Process* ProcessTable::Find(int32_t pid) const {
  auto it = by_pid_.find(pid);
  return it == by_pid_.end() ? nullptr : &it->second;
}

const Process* ProcessTable::Find(const ProcessKey& key) const {
  const Process* process = Find(key.pid);
  return process != nullptr && process->key == key ? process : nullptr;
}

std::vector<int32_t> ProcessTable::Children(int32_t pid) const {
  auto it = children_.find(pid);
  if (it == children_.end()) return {};
  std::vector<int32_t> children = it->second;
  std::sort(children.begin(), children.end());
  return children;
}

std::vector<const Process*> ProcessTable::SortedByPid() const {
  std::vector<const Process*> sorted;
  sorted.reserve(by_pid_.size());
  for (const auto& [pid, process] : by_pid_) sorted.push_back(&process);
  std::sort(sorted.begin(), sorted.end(),
            [](const Process* a, const Process* b) { return a->key.pid < b->key.pid; });
  return sorted;
}

void ProcessTable::LinkChild(const Process& process) {
  children_[process.ppid].push_back(process.key.pid);
}

void ProcessTable::UnlinkChild(const Process& process) {
  auto it = children_.find(process.ppid);
  if (it == children_.end()) return;
  std::erase(it->second, process.key.pid);
  if (it->second.empty()) children_.erase(it);
}

}  // namespace pidscope
