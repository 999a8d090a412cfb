// Command-line and configuration parsing: every documented form, and clear errors.
#include <gtest/gtest.h>

#include "cli/options.hpp"

namespace pidscope::cli {
namespace {

TEST(CliOptions, NoArgumentsShowsHelp) {
  auto options = ParseOptions({});
  ASSERT_TRUE(options);
  EXPECT_EQ(options->command, Command::kHelp);
}

TEST(CliOptions, SnapshotJsonWithBothValueForms) {
  for (auto args :
       {std::vector<std::string>{"snapshot", "--format", "json", "--proc", "/host/proc"},
        std::vector<std::string>{"snapshot", "--format=json", "--proc=/host/proc"}}) {
    auto options = ParseOptions(args);
    ASSERT_TRUE(options) << options.error().Message();
    EXPECT_EQ(options->command, Command::kSnapshot);
    EXPECT_EQ(options->format, Format::kJson);
    EXPECT_EQ(options->proc_root, "/host/proc");
  }
}

TEST(CliOptions, TreeGroupings) {
  EXPECT_EQ(ParseOptions({"tree", "--by", "session"})->grouping, TreeGrouping::kSession);
  EXPECT_EQ(ParseOptions({"tree", "--by", "pidns"})->grouping, TreeGrouping::kPidNamespace);
  EXPECT_FALSE(ParseOptions({"tree", "--by", "cgroup"}));
}

TEST(CliOptions, EventsFilters) {
  auto options = ParseOptions(
      {"events", "--source", "netlink", "--action", "exec,exit", "--pid-namespace", "4026531836"});
  ASSERT_TRUE(options) << options.error().Message();
  EXPECT_EQ(options->command, Command::kEvents);
  EXPECT_EQ(options->source, "netlink");
  EXPECT_EQ(options->actions, (std::vector<std::string>{"exec", "exit"}));
  EXPECT_EQ(options->pidns_filter, 4026531836u);
}

TEST(CliOptions, ErrorsNameTheProblem) {
  auto bad_action = ParseOptions({"events", "--action", "exec,explode"});
  ASSERT_FALSE(bad_action);
  EXPECT_NE(bad_action.error().Message().find("explode"), std::string::npos);
  auto missing = ParseOptions({"snapshot", "--format"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().Message().find("needs a value"), std::string::npos);
  EXPECT_FALSE(ParseOptions({"frobnicate"}));
  EXPECT_FALSE(ParseOptions({"snapshot", "--max-args-bytes", "0"}));
  EXPECT_FALSE(ParseOptions({"run", "--source", "kprobe"}));
  // Internal actions are not for users.
  EXPECT_FALSE(ParseOptions({"events", "--action", "thread_exit"}));
}

TEST(CliOptions, ConfigFileUnderTheCommandLine) {
  Options from_file;
  ASSERT_TRUE(
      ApplyConfigText("# pidscope\nsource = procfs\naction = fork, exit\n"
                      "events = /var/log/pidscope.jsonl\nreconcile-seconds = 5\n"
                      "log-format = text\n",
                      &from_file));
  EXPECT_EQ(from_file.source, "procfs");
  EXPECT_EQ(from_file.reconcile_seconds, 5u);
  EXPECT_TRUE(from_file.log_text);
  auto merged = ParseOptions({"run", "--source", "bpf"}, from_file);
  ASSERT_TRUE(merged);
  EXPECT_EQ(merged->source, "bpf");  // the command line wins
  EXPECT_EQ(merged->events_path, "/var/log/pidscope.jsonl");
}

TEST(CliOptions, ConfigErrorsCarryTheLineNumber) {
  Options options;
  auto status = ApplyConfigText("source = bpf\nbogus = 1\n", &options);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().Message().find("line 2"), std::string::npos);
  EXPECT_FALSE(ApplyConfigText("no equals sign\n", &options));
}

}  // namespace
}  // namespace pidscope::cli
