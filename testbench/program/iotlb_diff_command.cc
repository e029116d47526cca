#include "program/iotlb_diff_command.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "platform/output_file.h"
#include "program/parse_number.h"
#include "rtl/iotlb_factory.h"

namespace iommusim::program {

namespace {

constexpr uint64_t default_ops = 1'000'000;

struct diff_options {
    std::string iotlb;  // "" = the reproducer's
    uint64_t ops = default_ops;
    uint64_t seed = 1;
    iotlb_geometry geometry{64, 4};
    std::optional<iotlb_replacement> replacement;
    std::string waves;
    std::optional<std::string> plusargs;  // set: overrides a reproducer's
    bool backpressure = true;
    std::string replay;
    std::string reproducer;
    bool ops_given = false, seed_given = false, geometry_given = false, help = false;
};

std::optional<diff_options> parse_args(const std::vector<std::string>& args, std::string& error) {
    diff_options o;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string a = args[i], v;
        if (a == "-h" || a == "--help") {
            o.help = true;
            continue;
        }
        if (a.rfind("--", 0) != 0) {
            error = "unexpected argument '" + a + "'";
            return std::nullopt;
        }
        if (const std::size_t eq = a.find('='); eq != std::string::npos) {
            v = a.substr(eq + 1);
            a = a.substr(0, eq);
        } else if (i + 1 < args.size()) {
            v = args[++i];
        } else {
            error = "option " + a + " needs a value";
            return std::nullopt;
        }
        if (a == "--iotlb") {
            if (!parse_iotlb_spec(v)) {
                error = std::string("--iotlb must be ") + iotlb_spec_syntax + ", not '" + v + "'";
                return std::nullopt;
            }
            o.iotlb = v;
        } else if (a == "--ops") {
            if (!parse_u64(v, o.ops) || o.ops == 0) {
                error = "--ops needs a positive integer, not '" + v + "'";
                return std::nullopt;
            }
            o.ops_given = true;
        } else if (a == "--seed") {
            if (!parse_u64(v, o.seed)) {
                error = "--seed needs a non-negative integer, not '" + v + "'";
                return std::nullopt;
            }
            o.seed_given = true;
        } else if (a == "--geometry") {
            auto g = parse_geometry(v);
            if (!g) {
                error = "--geometry needs SETSxWAYS, both powers of two (at most 4096x64), not '" + v + "'";
                return std::nullopt;
            }
            o.geometry = *g;
            o.geometry_given = true;
        } else if (a == "--iotlb-replacement") {
            o.replacement = parse_iotlb_replacement(v);
            if (!o.replacement) {
                error = "--iotlb-replacement must be tree-plru or free, not '" + v + "'";
                return std::nullopt;
            }
        } else if (a == "--waves") {
            o.waves = v;
        } else if (a == "--plusargs") {
            o.plusargs = v;
        } else if (a == "--backpressure") {
            if (v != "on" && v != "off") {
                error = "--backpressure must be on or off, not '" + v + "'";
                return std::nullopt;
            }
            o.backpressure = v == "on";
        } else if (a == "--replay") {
            o.replay = v;
        } else if (a == "--reproducer") {
            o.reproducer = v;
        } else {
            error = "unknown option '" + a + "'";
            return std::nullopt;
        }
        if (v.empty()) {
            error = "option " + a + " needs a value";
            return std::nullopt;
        }
    }
    if (o.help) {
        return o;
    }
    if (!o.replay.empty() && (o.ops_given || o.seed_given || o.geometry_given)) {
        error = "--replay runs the file's operations on its geometry: --ops, --seed and --geometry do not apply";
        return std::nullopt;
    }
    if (o.replay.empty() && o.iotlb.empty()) {
        error = "iotlb-diff needs --iotlb KIND (or --replay FILE)";
        return std::nullopt;
    }
    return o;
}

// Waves of the RTL side at PATH (FST, or VCD for a .vcd path).
rtl_waves_options waves_at(const std::string& path) {
    rtl_waves_options w;
    if (path.empty()) {
        return w;
    }
    const std::filesystem::path p(path);
    w.enabled = true;
    w.dir = p.has_parent_path() ? p.parent_path().string() : std::string(".");
    w.name = p.stem().string();
    w.format = p.extension() == ".vcd" ? rtl_waves_options::file_format::vcd : rtl_waves_options::file_format::fst;
    return w;
}

iotlb_maker maker_for(const std::string& kind, const rtl_iotlb_options& rtl) {
    const iotlb_spec spec = *parse_iotlb_spec(kind);
    return [spec, rtl](const iotlb_geometry& g, const rtl_waves_options& w) { return make_iotlb(spec, g, w, {}, rtl); };
}

// What the RTL side of a random run gets: back-pressure seeded by the run's seed.
rtl_iotlb_options rtl_options_of(const diff_options& o) {
    rtl_iotlb_options rtl;
    rtl.plusargs = o.plusargs.value_or("");
    if (o.backpressure) {
        rtl.backpressure_seed = o.seed;
    }
    return rtl;
}

// " (plusargs ..., back-pressure seed N)" for the run's banner.
std::string rtl_options_text(const rtl_iotlb_options& rtl) {
    std::string text;
    if (!rtl.plusargs.empty()) {
        text += ", plusargs " + rtl.plusargs;
    }
    text += rtl.backpressure_seed ? ", response back-pressure seed " + std::to_string(*rtl.backpressure_seed)
                                  : std::string(", no response back-pressure");
    return text;
}

// Writes waves of a (short) failing sequence by replaying it with waves on.
void write_waves(const iotlb_diff_setup& setup, const std::vector<iotlb_op>& ops, const diff_options& o,
                 std::ostream& out) {
    if (o.waves.empty()) {
        return;
    }
    const rtl_waves_options w = waves_at(o.waves);
    run_iotlb_diff(setup, ops, w);
    if (std::filesystem::exists(w.path())) {
        out << "iotlb-diff: waves of the " << ops.size() << " failing operations written to " << w.path() << '\n';
    } else {
        out << "iotlb-diff: no waves written (the IOTLB under test has no RTL signals)\n";
    }
}

int replay(const diff_options& o, std::ostream& out, std::ostream& err, const iotlb_maker* dut) {
    std::ifstream in(o.replay);
    if (!in) {
        err << "iommusim iotlb-diff: cannot read --replay " << o.replay << '\n';
        return 2;
    }
    std::stringstream text;
    text << in.rdbuf();
    std::string error;
    auto r = parse_reproducer(text.str(), error);
    if (!r) {
        err << "iommusim iotlb-diff: " << o.replay << ": " << error << '\n';
        return 2;
    }
    const std::string kind = !o.iotlb.empty() ? o.iotlb : r->iotlb;
    if (!dut && !parse_iotlb_spec(kind)) {
        err << "iommusim iotlb-diff: " << o.replay << " names no IOTLB kind: give --iotlb KIND\n";
        return 2;
    }
    // The file's plusargs and back-pressure, unless the command line says otherwise.
    rtl_iotlb_options rtl;
    rtl.plusargs = o.plusargs.value_or(r->plusargs);
    if (o.backpressure) {
        rtl.backpressure_seed = r->backpressure_seed;
    }
    iotlb_diff_setup setup{r->geometry, o.replacement.value_or(r->replacement), dut ? *dut : maker_for(kind, rtl)};
    out << "iotlb-diff: replaying " << r->ops.size() << " operations of " << o.replay << " on "
        << (dut ? std::string("the given IOTLB") : kind) << ", geometry " << r->geometry.sets << 'x' << r->geometry.ways
        << ", replacement " << to_string(setup.replacement) << (dut ? "" : rtl_options_text(rtl)) << '\n';
    const auto failure = run_iotlb_diff(setup, r->ops);
    if (!failure) {
        out << "iotlb-diff: no divergence in " << r->ops.size() << " operations\n";
        return 0;
    }
    out << "iotlb-diff: FAILED at operation #" << failure->op_index << ": " << failure->description << '\n';
    write_waves(setup, r->ops, o, out);
    return 1;
}

int random_run(const diff_options& o, std::ostream& out, std::ostream& err, const iotlb_maker* dut) {
    const rtl_iotlb_options rtl = rtl_options_of(o);
    const iotlb_diff_setup setup{o.geometry, o.replacement.value_or(iotlb_replacement::tree_plru),
                                 dut ? *dut : maker_for(o.iotlb, rtl)};
    out << "iotlb-diff: " << (dut ? std::string("the given IOTLB") : o.iotlb) << " against the C++ reference, geometry "
        << o.geometry.sets << 'x' << o.geometry.ways << ", replacement " << to_string(setup.replacement) << ", seed "
        << o.seed << ", " << o.ops << " operations" << (dut ? "" : rtl_options_text(rtl)) << '\n';
    iotlb_op_generator gen(o.seed, o.geometry);
    uint64_t remaining = o.ops, ops_run = 0;
    auto next = [&]() -> std::optional<iotlb_op> {
        if (remaining == 0) {
            return std::nullopt;
        }
        --remaining;
        return gen.next();
    };
    const auto start = std::chrono::steady_clock::now();
    const auto failure = run_iotlb_diff(setup, next, ops_run);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = seconds > 0 ? static_cast<double>(ops_run) / seconds : 0;
    int status = 0;
    if (!failure) {
        out << "iotlb-diff: no divergence in " << ops_run << " operations\n";
    } else {
        status = 1;
        out << "iotlb-diff: FAILED at operation #" << failure->op_index << ": " << failure->description << '\n';
        // The same operations again, from the seed, up to the failing one.
        iotlb_op_generator again(o.seed, o.geometry);
        std::vector<iotlb_op> ops;
        for (uint64_t i = 0; i <= failure->op_index && i < ops_run; ++i) {
            ops.push_back(again.next());
        }
        const iotlb_shrink_result shrunk = shrink_iotlb_diff(setup, std::move(ops));
        out << "iotlb-diff: shrunk to " << shrunk.ops.size() << " operation(s) in " << shrunk.replays << " replays"
            << (shrunk.replay_budget_reached ? " (replay budget reached: maybe not minimal)" : "") << ": "
            << shrunk.failure.description << '\n';
        iotlb_reproducer r;
        r.iotlb = dut ? std::string() : o.iotlb;
        r.geometry = o.geometry;
        r.replacement = setup.replacement;
        if (!dut) {
            r.backpressure_seed = rtl.backpressure_seed;
            r.plusargs = rtl.plusargs;
        }
        r.comments = {"seed " + std::to_string(o.seed) + ", failed at operation #" + std::to_string(failure->op_index),
                      shrunk.failure.description};
        r.ops = shrunk.ops;
        const std::string text = format_reproducer(r);
        out << "--- reproducer ---\n" << text << "--- end of reproducer ---\n";
        if (!o.reproducer.empty()) {
            if (const std::string e = write_output_file(o.reproducer, text); !e.empty()) {
                err << "iommusim iotlb-diff: --reproducer: " << e << '\n';
            } else {
                out << "iotlb-diff: reproducer written to " << o.reproducer << " (iommusim iotlb-diff --replay "
                    << o.reproducer << ")\n";
            }
        }
        write_waves(setup, shrunk.ops, o, out);
    }
    out << "iotlb-diff: throughput " << std::fixed << std::setprecision(0) << rate << " operations/s (" << ops_run
        << " operations in " << std::setprecision(3) << seconds << " s)\n";
    return status;
}

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, const iotlb_maker* dut) {
    std::string error;
    auto o = parse_args(args, error);
    if (!o) {
        err << "iommusim iotlb-diff: " << error << "\n(see iommusim iotlb-diff --help)\n";
        return 2;
    }
    if (o->help) {
        out << iotlb_diff_usage();
        return 0;
    }
    for (const std::string* path : {&o->waves, &o->reproducer}) {
        if (!path->empty()) {
            if (std::string e = prepare_output_file(*path); !e.empty()) {
                err << "iommusim iotlb-diff: " << e << '\n';
                return 2;
            }
        }
    }
    try {
        if (!o->replay.empty()) {
            return replay(*o, out, err, dut);
        }
        // A kind the geometry cannot be built for (an RTL geometry that was not verilated) is bad usage.
        if (!dut) {
            maker_for(o->iotlb, rtl_options_of(*o))(o->geometry, {});
        }
        return random_run(*o, out, err, dut);
    } catch (const std::invalid_argument& e) {
        err << "iommusim iotlb-diff: " << e.what() << '\n';
        return 2;
    }
}

}  // namespace

std::string iotlb_diff_usage() {
    return R"(usage: iommusim iotlb-diff --iotlb KIND [--ops N] [--seed S] [--geometry SxW] [--waves PATH]
                          [--iotlb-replacement tree-plru|free] [--reproducer FILE]
                          [--plusargs ARGS] [--backpressure on|off]
       iommusim iotlb-diff --replay FILE [--iotlb KIND] [--waves PATH] [--iotlb-replacement tree-plru|free]
                          [--plusargs ARGS] [--backpressure on|off]

Runs a seeded constrained-random mix of IOTLB lookups, fills and invalidations of every scope on
the IOTLB KIND (cpp, rtl, lockstep) and on the C++ reference in lockstep, comparing every result.
On the first divergence (or RTL protocol violation) the operations are shrunk to a short
reproducer, printed (and written to --reproducer FILE), and --waves PATH gets the RTL waves of
just those operations (FST, or VCD for a .vcd path). --replay FILE runs a reproducer again.

  --iotlb KIND                 IOTLB under test (a reproducer records its own)
  --ops N                      operations (default 1000000)
  --seed S                     seed of the operation mix (default 1)
  --geometry SxW               sets x ways, powers of two (default 64x4; rtl: a verilated geometry)
  --iotlb-replacement R        tree-plru (default): results must match exactly; free: the design
                               chooses its own victims, hits must still be correct translations
  --waves PATH                 waves of the failing window
  --plusargs ARGS              plusargs for the RTL design, e.g. "+my_define=3 +trace" (also
                               IOMMUSIM_RTL_PLUSARGS; a reproducer records them)
  --backpressure on|off        on (default): the RTL's responses are left untaken for 1-3
                               cycles now and then (seeded by --seed), so the protocol checker
                               sees a design that does not hold them; a reproducer records it
  --reproducer FILE            also write the reproducer to FILE

exit status: 0 no divergence, 1 a divergence, 2 bad usage.
)";
}

int iotlb_diff_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    return run(args, out, err, nullptr);
}

int iotlb_diff_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                    const iotlb_maker& dut) {
    return run(args, out, err, &dut);
}

}  // namespace iommusim::program
