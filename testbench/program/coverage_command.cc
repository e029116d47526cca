#include "program/coverage_command.h"

#include <filesystem>
#include <ostream>

#include "platform/output_file.h"
#include "program/coverage_data.h"

namespace iommusim::program {

std::string coverage_usage() {
    return R"(usage: iommusim coverage merge A.json B.json ... -o ALL.json
       iommusim coverage report ALL.json [--html DIR]
merge   sums the functional coverage of runs (iommusim --coverage FILE, iommusim regress --coverage)
report  prints the totals, each point's share of bins hit and every hole (a bin without a hit) by
        name; --html DIR also writes DIR/index.html with a heat map of each point and cross
)";
}

std::string merge_coverage_files(const std::vector<std::string>& inputs, const std::string& output) {
    coverage_data all;
    for (const std::string& path : inputs) {
        coverage_data one;
        if (std::string error = read_coverage(path, one); !error.empty()) {
            return error;
        }
        if (std::string error = merge_coverage(all, one); !error.empty()) {
            return path + ": " + error;
        }
    }
    if (std::string error = prepare_output_file(output); !error.empty()) {
        return error;
    }
    return write_output_file(output, coverage_json(all));
}

namespace {

int merge_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    std::vector<std::string> inputs;
    std::string output;
    for (std::size_t i = 1; i < args.size(); ++i) {
        if (args[i] == "-o" || args[i] == "--output") {
            if (i + 1 >= args.size()) {
                err << "iommusim coverage merge: " << args[i] << " needs a file\n";
                return 2;
            }
            output = args[++i];
        } else if (!args[i].empty() && args[i][0] == '-') {
            err << "iommusim coverage merge: unknown option '" << args[i] << "'\n";
            return 2;
        } else {
            inputs.push_back(args[i]);
        }
    }
    if (inputs.empty() || output.empty()) {
        err << "iommusim coverage merge: needs coverage files and -o ALL.json\n" << coverage_usage();
        return 2;
    }
    if (std::string error = merge_coverage_files(inputs, output); !error.empty()) {
        err << "iommusim coverage merge: " << error << '\n';
        return 2;
    }
    out << "merged " << inputs.size() << " file(s) into " << output << '\n';
    return 0;
}

int report_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    std::string input;
    std::string html_dir;
    for (std::size_t i = 1; i < args.size(); ++i) {
        if (args[i] == "--html") {
            if (i + 1 >= args.size()) {
                err << "iommusim coverage report: --html needs a directory\n";
                return 2;
            }
            html_dir = args[++i];
        } else if (!args[i].empty() && args[i][0] == '-') {
            err << "iommusim coverage report: unknown option '" << args[i] << "'\n";
            return 2;
        } else if (!input.empty()) {
            err << "iommusim coverage report: one coverage file, not '" << input << "' and '" << args[i] << "'\n";
            return 2;
        } else {
            input = args[i];
        }
    }
    if (input.empty()) {
        err << "iommusim coverage report: needs a coverage file\n" << coverage_usage();
        return 2;
    }
    coverage_data data;
    std::string error = read_coverage(input, data);
    const std::string page = (std::filesystem::path(html_dir) / "index.html").string();
    if (error.empty() && !html_dir.empty()) {
        if (error = prepare_output_file(page); error.empty()) {
            error = write_output_file(page, coverage_html_report(data));
        }
    }
    if (!error.empty()) {
        err << "iommusim coverage report: " << error << '\n';
        return 2;
    }
    out << coverage_text_report(data);
    if (!html_dir.empty()) {
        out << "heat maps written to " << page << '\n';
    }
    return 0;
}

}  // namespace

int coverage_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        (args.empty() ? err : out) << coverage_usage();
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "merge") {
        return merge_command(args, out, err);
    }
    if (args[0] == "report") {
        return report_command(args, out, err);
    }
    err << "iommusim coverage: '" << args[0] << "' is neither merge nor report\n" << coverage_usage();
    return 2;
}

}  // namespace iommusim::program
