/* Force-included (-include) into every translation unit built from the packaged kernel source.
 *
 * Debian's linux-source-6.12 (6.12.117-1~deb12u1) ships a tools/testing/selftests/iommu/ that
 * stable backports moved ahead of its own headers: iommufd.c and iommufd_utils.h use names that
 * neither include/uapi/linux/iommufd.h nor drivers/iommu/iommufd/iommufd_test.h of that tree
 * define. This header supplies exactly those, with the values of upstream torvalds/linux, and
 * nothing else; each is defined only when the kernel headers do not define it themselves.
 *
 *   IOMMU_HW_INFO_TYPE_DEFAULT     enum iommu_hw_info_type value 0 (include/uapi/linux/iommufd.h)
 *   IOMMU_HW_INFO_FLAG_INPUT_TYPE  enum iommufd_hw_info_flags bit 0 (include/uapi/linux/iommufd.h)
 *   in_data_type                   upstream makes it a union with out_data_type in struct
 *                                  iommu_hw_info (same __u32 at byte 24), so naming it is naming
 *                                  out_data_type
 *   MOCK_FLAGS_DEVICE_PASID        1 << 2 (drivers/iommu/iommufd/iommufd_test.h)
 *   MOCK_PASID_WIDTH               20 (drivers/iommu/iommufd/iommufd_test.h)
 *   __user                         empty: the raw include/uapi/linux/vfio.h still carries the
 *                                  annotation that the kernel's headers_install strips
 *
 * The enum constants are macros here (the same values), so a newer package that defines them
 * as enumerators does not clash: the guard below skips them once its iommufd.h has the flag. */
#ifndef IOMMUSIM_KSELFTEST_COMPAT_H
#define IOMMUSIM_KSELFTEST_COMPAT_H

#ifndef __user
#define __user
#endif

#ifndef IOMMUSIM_KSELFTEST_HEADERS_HAVE_INPUT_TYPE
#define IOMMU_HW_INFO_TYPE_DEFAULT 0
#define IOMMU_HW_INFO_FLAG_INPUT_TYPE (1 << 0)
#define in_data_type out_data_type
#endif

#ifndef IOMMUSIM_KSELFTEST_HEADERS_HAVE_DEVICE_PASID
#define MOCK_FLAGS_DEVICE_PASID (1 << 2)
#define MOCK_PASID_WIDTH 20
#endif

#endif /* IOMMUSIM_KSELFTEST_COMPAT_H */
