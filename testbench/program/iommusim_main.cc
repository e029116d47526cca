// iommusim: runs a scenario of the nested-translation virtual platform (see --help).
#include "program/program_main.h"

int main(int argc, char** argv) {
    return iommusim::program::program_main(argc, argv);
}
