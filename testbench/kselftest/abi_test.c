/* The ABI test: every entry of iommusim/iommufd_abi.h (the sizes, offsets and constants that
 * iommusim/iommufd.h asserts for itself) evaluated against the kernel's own uapi headers from
 * the linux-source package. Prints each mismatch and the totals; exits 1 on any mismatch. */
#define __user /* the raw uapi header keeps the annotation headers_install strips */
#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <stddef.h>
#include <stdio.h>

#include "iommufd_test.h"

static unsigned checked;
static unsigned mismatched;
static unsigned newer;

static void check(unsigned long long kernel, unsigned long long ours, const char* what) {
    ++checked;
    if (kernel != ours) {
        ++mismatched;
        printf("MISMATCH %s: kernel %llu (0x%llx), iommusim/iommufd.h %llu (0x%llx)\n", what, kernel, kernel, ours,
               ours);
    }
}

int main(void) {
#define IOMMUSIM_ABI_SIZE(s, n) check(sizeof(struct s), (n), #s " size")
#define IOMMUSIM_ABI_OFF(s, f, n) check(offsetof(struct s, f), (n), #s "." #f " offset")
#define IOMMUSIM_ABI_FIELD_SIZE(s, f, n) check(sizeof(((struct s*)0)->f), (n), #s "." #f " size")
#define IOMMUSIM_ABI_VALUE(name, v) check((unsigned long long)(name), (unsigned long long)(v), #name " value")
#if IOMMUSIM_KERNEL_AFTER_6_12
#define IOMMUSIM_ABI_NEWER(entry) entry
#else
#define IOMMUSIM_ABI_NEWER(entry) ++newer
#endif
#include "iommusim/iommufd_abi.h"
    printf("# ABI against Linux %s uapi headers: %u checked, %u mismatched, %u newer than 6.12 not checked\n",
           IOMMUSIM_KERNEL_VERSION, checked, mismatched, newer);
    return mismatched == 0 ? 0 : 1;
}
