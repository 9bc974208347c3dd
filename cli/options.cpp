#include "options.hpp"

#include <cstdlib>

namespace cpr::cli {
namespace {

class Parser {
public:
  explicit Parser(const std::vector<std::string> &args) : args_(args) {}

  Options run() {
    for (i_ = 0; i_ < args_.size(); ++i_) {
      const std::string &a = args_[i_];
      if (a == "--help")
        set_mode(Mode::help);
      else if (a == "--version")
        set_mode(Mode::version);
      else if (a == "--fork-any")
        fork_any_ = true;
      else if (a == "--force-changed")
        opts_.force_changed = true;
      else if (a == "--reseal")
        set_mode(Mode::reseal);
      else if (a == "--distribute")
        set_distribute();
      else if (a == "--outside-pipes")
        set_outside_pipes();
      else if (a == "--outside-sockets")
        set_outside_sockets();
      else if (a == "--all-ipc")
        set_all_ipc();
      else if (a == "--timeout")
        set_timeout(next_value("--timeout"));
      else if (a == "--compress" || a.rfind("--compress=", 0) == 0)
        set_compress(a);
      else if (a == "--since")
        set_since(next_value("--since"));
      else if (a.size() >= 2 && a[0] == '-' && a[1] != '-')
        flags(a);
      else if (mode_ && *mode_ != Mode::checkpoint)
        opts_.statefiles.push_back(a);
      else
        throw UsageError("Invalid argument: unexpected '" + a + "'");
    }
    return finish();
  }

private:
  // One argument of single-letter flags: "-f", "-kf", "-cSTATE", "-p" "123".
  void flags(const std::string &a) {
    for (size_t k = 1; k < a.size(); ++k) {
      char f = a[k];
      if (f == 'c' || f == 'p') {
        std::string value = a.size() > k + 1 ? a.substr(k + 1) : next(f);
        f == 'c' ? start_checkpoint(value) : set_ids(value);
        return;
      }
      flag(f);
    }
  }

  void flag(char f) {
    switch (f) {
    case 'r':
      return set_mode(Mode::restart);
    case 'i':
      return set_mode(Mode::info);
    case 'j':
      opts_.interactive = true;
      return;
    case 'q':
      opts_.quiet = true;
      return;
    case 'D':
      return set_mode(Mode::remove);
    case 'h':
      return set_mode(Mode::help);
    case 'f':
      opts_.checkpoint.force = true;
      checkpoint_only_.push_back("-f");
      return;
    case 'u':
      opts_.checkpoint.upgrade = true;
      checkpoint_only_.push_back("-u");
      return;
    case 'k':
    case 'g':
      set_will(f == 'k' ? engine::Will::kill : engine::Will::cont, f);
      return;
    default:
      throw UsageError(std::string("Invalid argument: unknown option -") + f);
    }
  }

  std::string next(char f) { return next_value(std::string("-") + f); }

  std::string next_value(const std::string &option) {
    if (i_ + 1 >= args_.size())
      throw UsageError("Invalid argument: " + option + " needs a value");
    return args_[++i_];
  }

  void set_mode(Mode m) {
    if (mode_ && *mode_ != m)
      throw UsageError(
          "Invalid argument: choose one of -c, -r, -i, -D, --reseal");
    mode_ = m;
  }

  void start_checkpoint(const std::string &statefile) {
    set_mode(Mode::checkpoint);
    if (!opts_.checkpoint.statefile.empty())
      throw UsageError("Invalid argument: -c given twice");
    opts_.checkpoint.statefile = statefile;
  }

  void set_ids(const std::string &ids) {
    if (!opts_.checkpoint.ids.empty())
      throw UsageError("Invalid argument: -p given twice");
    opts_.checkpoint.ids = engine::IdList::parse(ids);
    checkpoint_only_.push_back("-p");
  }

  void set_distribute() {
    opts_.checkpoint.distribute = true;
    checkpoint_only_.push_back("--distribute");
  }

  void set_outside_pipes() {
    opts_.checkpoint.outside_pipes = true;
    checkpoint_only_.push_back("--outside-pipes");
  }

  void set_outside_sockets() {
    opts_.checkpoint.outside_sockets = true;
    checkpoint_only_.push_back("--outside-sockets");
  }

  void set_all_ipc() {
    opts_.checkpoint.all_ipc = true;
    checkpoint_only_.push_back("--all-ipc");
  }

  void set_timeout(const std::string &value) {
    char *end = nullptr;
    unsigned long seconds = std::strtoul(value.c_str(), &end, 10);
    if (value.empty() || *end || seconds == 0 || seconds > 86400)
      throw UsageError("Invalid argument: --timeout takes seconds, 1 to "
                       "86400, not '" +
                       value + "'");
    opts_.checkpoint.handler_timeout = std::chrono::seconds(seconds);
    checkpoint_only_.push_back("--timeout");
  }

  void set_since(const std::string &earlier) {
    if (!opts_.checkpoint.since.empty())
      throw UsageError("Invalid argument: --since given twice");
    opts_.checkpoint.since = earlier;
    checkpoint_only_.push_back("--since");
  }

  // --compress, or --compress=LEVEL.
  void set_compress(const std::string &a) {
    std::string value = a.size() > 10 ? a.substr(11) : "1";
    char *end = nullptr;
    long level = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end || level < 1 ||
        level > engine::max_compress_level)
      throw UsageError("Invalid argument: --compress takes a level, 1 to " +
                       std::to_string(engine::max_compress_level) + ", not '" +
                       value + "'");
    opts_.checkpoint.compress = static_cast<int>(level);
    checkpoint_only_.push_back("--compress");
  }

  void set_will(engine::Will w, char f) {
    if (will_ && *will_ != f)
      throw UsageError("Invalid argument: -k and -g exclude each other");
    will_ = f;
    opts_.checkpoint.will = w;
    checkpoint_only_.push_back(std::string("-") + f);
  }

  Options finish() {
    opts_.mode = mode_.value_or(Mode::help);
    if (fork_any_ && opts_.mode != Mode::restart)
      throw UsageError("Invalid argument: --fork-any goes with -r");
    if (fork_any_)
      opts_.fork = engine::Fork::any;
    if (opts_.interactive && opts_.mode != Mode::restart)
      throw UsageError("Invalid argument: -j goes with -r");
    if (opts_.force_changed && opts_.mode != Mode::restart)
      throw UsageError("Invalid argument: --force-changed goes with -r");
    if (opts_.mode != Mode::checkpoint && !checkpoint_only_.empty())
      throw UsageError("Invalid argument: " + checkpoint_only_.front() +
                       " goes with -c");
    if (opts_.mode == Mode::checkpoint && opts_.checkpoint.ids.empty())
      throw UsageError("Invalid argument: -c needs -p with the processes to "
                       "checkpoint");
    bool needs_statefiles =
        opts_.mode == Mode::restart || opts_.mode == Mode::info ||
        opts_.mode == Mode::remove || opts_.mode == Mode::reseal;
    if (needs_statefiles && opts_.statefiles.empty())
      throw UsageError("Invalid argument: name at least one statefile");
    return opts_;
  }

  const std::vector<std::string> &args_;
  size_t i_ = 0;
  Options opts_;
  std::optional<Mode> mode_;
  std::optional<char> will_;
  bool fork_any_ = false;
  std::vector<std::string> checkpoint_only_;
};

} // namespace

Options parse_options(const std::vector<std::string> &args) {
  return Parser(args).run();
}

const char *usage() {
  return "usage: cpr -c statefile -p id[:type][,id[:type]...] [-f] [-k | -g] "
         "[-u]\n"
         "              [-q] [--distribute] [--outside-pipes] "
         "[--outside-sockets]\n"
         "              [--all-ipc] [--timeout S] [--compress[=LEVEL]]\n"
         "              [--since earlier_statefile]\n"
         "       cpr -r [-j] [-q] [--fork-any] [--force-changed] statefile...\n"
         "       cpr -i statefile...\n"
         "       cpr -D statefile...\n"
         "       cpr --reseal statefile...\n"
         "\n"
         "  -c statefile  checkpoint the processes named by -p into statefile\n"
         "  -p ids        process IDs, comma separated (id or id:PID)\n"
         "  -f            overwrite an existing statefile\n"
         "  -k            kill the processes after the checkpoint (default)\n"
         "  -g            let the processes go on running after it\n"
         "                (-k and -g override the attribute file's WILL)\n"
         "  -q            quiet: no progress bar (one is drawn on a terminal\n"
         "                when -c or -r takes more than a second)\n"
         "  -u            upgrade checkpoint: save the executables and shared\n"
         "                libraries too; a restart after they changed (a\n"
         "                system upgrade) runs the saved ones\n"
         "  --distribute  with -c: save copies of open files beside them, as\n"
         "                NAME.ckpt.pidPID, not in the statefile\n"
         "  --outside-pipes  with -c: carry pipes whose other end is outside\n"
         "                the set; at restart that end is cpr's stdin/stdout\n"
         "  --outside-sockets  with -c: a unix socket connected to a process\n"
         "                outside the set is connected again, to its peer's\n"
         "                address, at restart\n"
         "  --all-ipc     with -c: also save the System V IPC objects of the\n"
         "                owner that the set does not use (IPC ALL)\n"
         "  --timeout S   with -c: wait S seconds (default 60) for the "
         "SIGCKPT\n"
         "                handlers of the processes to return\n"
         "  --compress[=LEVEL]  with -c: compress the memory with zstd, at\n"
         "                LEVEL 1 (fastest, the default) to 19 (smallest)\n"
         "  --since SF    with -c: an incremental checkpoint: the pages the\n"
         "                earlier statefile SF holds unchanged are referred "
         "to,\n"
         "                not written; SF must stay while this one does\n"
         "  -r            restart from the statefiles, all or none\n"
         "  -j            with -r: the processes that ran on a terminal run "
         "on\n"
         "                this one, as a foreground job of this shell; cpr "
         "waits\n"
         "                for them (without -j they have no terminal)\n"
         "  --force-changed  with -r: map executables and libraries changed\n"
         "                since a checkpoint made without -u as they are now\n"
         "  --fork-any    with -r: if a PID is taken, restore the whole set in "
         "a\n"
         "                new PID namespace, where it keeps its PIDs (FORK "
         "ANY)\n"
         "  -i            show what the statefiles hold\n"
         "  -D            delete the statefiles\n"
         "  --reseal      root only: seal statefiles made on another host "
         "with\n"
         "                this host's key, once their contents are trusted\n"
         "\n"
         "The attribute files /etc/cpr_proto, then $HOME/.cpr, set the\n"
         "policies (FILE, WILL, CDIR, RDIR, FORK) of the IRIX guide.\n";
}

} // namespace cpr::cli
