/* The iommufd ABI facts iommusim/iommufd.h relies on, as one list: every struct size, field offset
 * (and size where a type changed across kernels) and constant. Included twice: by iommusim/iommufd.h,
 * where each entry is a static assertion on our declarations, and by the ABI test
 * (testbench/kselftest/abi_test.c), where each entry is checked against the kernel's own uapi
 * headers (include/uapi/linux/iommufd.h, vfio.h, drivers/iommu/iommufd/iommufd_test.h).
 *
 * The includer defines IOMMUSIM_ABI_SIZE(s, n), IOMMUSIM_ABI_OFF(s, f, n),
 * IOMMUSIM_ABI_FIELD_SIZE(s, f, n), IOMMUSIM_ABI_VALUE(name, v) and IOMMUSIM_ABI_NEWER(entry):
 * entries wrapped in IOMMUSIM_ABI_NEWER are ABI that Linux 6.12 does not have yet (checked
 * against its headers: absent there), so the ABI test checks them only against a newer kernel.
 * No include guard, on purpose. */

IOMMUSIM_ABI_SIZE(iommu_destroy, 8);
IOMMUSIM_ABI_OFF(iommu_destroy, size, 0);
IOMMUSIM_ABI_OFF(iommu_destroy, id, 4);

IOMMUSIM_ABI_SIZE(iommu_ioas_alloc, 12);
IOMMUSIM_ABI_OFF(iommu_ioas_alloc, size, 0);
IOMMUSIM_ABI_OFF(iommu_ioas_alloc, flags, 4);
IOMMUSIM_ABI_OFF(iommu_ioas_alloc, out_ioas_id, 8);

IOMMUSIM_ABI_SIZE(iommu_iova_range, 16);
IOMMUSIM_ABI_OFF(iommu_iova_range, start, 0);
IOMMUSIM_ABI_OFF(iommu_iova_range, last, 8);

IOMMUSIM_ABI_SIZE(iommu_ioas_iova_ranges, 32);
IOMMUSIM_ABI_OFF(iommu_ioas_iova_ranges, size, 0);
IOMMUSIM_ABI_OFF(iommu_ioas_iova_ranges, ioas_id, 4);
IOMMUSIM_ABI_OFF(iommu_ioas_iova_ranges, num_iovas, 8);
IOMMUSIM_ABI_OFF(iommu_ioas_iova_ranges, __reserved, 12);
IOMMUSIM_ABI_OFF(iommu_ioas_iova_ranges, allowed_iovas, 16);
IOMMUSIM_ABI_OFF(iommu_ioas_iova_ranges, out_iova_alignment, 24);

IOMMUSIM_ABI_SIZE(iommu_ioas_map, 40);
IOMMUSIM_ABI_OFF(iommu_ioas_map, size, 0);
IOMMUSIM_ABI_OFF(iommu_ioas_map, flags, 4);
IOMMUSIM_ABI_OFF(iommu_ioas_map, ioas_id, 8);
IOMMUSIM_ABI_OFF(iommu_ioas_map, __reserved, 12);
IOMMUSIM_ABI_OFF(iommu_ioas_map, user_va, 16);
IOMMUSIM_ABI_OFF(iommu_ioas_map, length, 24);
IOMMUSIM_ABI_OFF(iommu_ioas_map, iova, 32);

IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_SIZE(iommu_ioas_map_file, 40));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_ioas_map_file, flags, 4));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_ioas_map_file, ioas_id, 8));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_ioas_map_file, fd, 12));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_ioas_map_file, start, 16));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_ioas_map_file, length, 24));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_ioas_map_file, iova, 32));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_IOAS_MAP_FILE, 0x3B8F));

IOMMUSIM_ABI_SIZE(iommu_ioas_unmap, 24);
IOMMUSIM_ABI_OFF(iommu_ioas_unmap, size, 0);
IOMMUSIM_ABI_OFF(iommu_ioas_unmap, ioas_id, 4);
IOMMUSIM_ABI_OFF(iommu_ioas_unmap, iova, 8);
IOMMUSIM_ABI_OFF(iommu_ioas_unmap, length, 16);

IOMMUSIM_ABI_SIZE(iommu_ioas_allow_iovas, 24);
IOMMUSIM_ABI_OFF(iommu_ioas_allow_iovas, num_iovas, 8);
IOMMUSIM_ABI_OFF(iommu_ioas_allow_iovas, allowed_iovas, 16);

IOMMUSIM_ABI_SIZE(iommu_ioas_copy, 40);
IOMMUSIM_ABI_OFF(iommu_ioas_copy, flags, 4);
IOMMUSIM_ABI_OFF(iommu_ioas_copy, dst_ioas_id, 8);
IOMMUSIM_ABI_OFF(iommu_ioas_copy, src_ioas_id, 12);
IOMMUSIM_ABI_OFF(iommu_ioas_copy, length, 16);
IOMMUSIM_ABI_OFF(iommu_ioas_copy, dst_iova, 24);
IOMMUSIM_ABI_OFF(iommu_ioas_copy, src_iova, 32);

IOMMUSIM_ABI_SIZE(iommu_option, 24);
IOMMUSIM_ABI_OFF(iommu_option, option_id, 4);
IOMMUSIM_ABI_OFF(iommu_option, op, 8);
IOMMUSIM_ABI_OFF(iommu_option, __reserved, 10);
IOMMUSIM_ABI_OFF(iommu_option, object_id, 12);
IOMMUSIM_ABI_OFF(iommu_option, val64, 16);

IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_SIZE(iommu_ioas_change_process, 8));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_ioas_change_process, __reserved, 4));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_IOAS_CHANGE_PROCESS, 0x3B92));

IOMMUSIM_ABI_SIZE(iommu_hwpt_vtd_s1, 24);
IOMMUSIM_ABI_OFF(iommu_hwpt_vtd_s1, flags, 0);
IOMMUSIM_ABI_OFF(iommu_hwpt_vtd_s1, pgtbl_addr, 8);
IOMMUSIM_ABI_OFF(iommu_hwpt_vtd_s1, addr_width, 16);
IOMMUSIM_ABI_OFF(iommu_hwpt_vtd_s1, __reserved, 20);

IOMMUSIM_ABI_SIZE(iommu_hwpt_alloc, 48);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, size, 0);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, flags, 4);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, dev_id, 8);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, pt_id, 12);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, out_hwpt_id, 16);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, __reserved, 20);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, data_type, 24);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, data_len, 28);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, data_uptr, 32);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, fault_id, 40);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, __reserved2, 44);

IOMMUSIM_ABI_SIZE(iommu_hw_info_vtd, 24);
IOMMUSIM_ABI_OFF(iommu_hw_info_vtd, flags, 0);
IOMMUSIM_ABI_OFF(iommu_hw_info_vtd, __reserved, 4);
IOMMUSIM_ABI_OFF(iommu_hw_info_vtd, cap_reg, 8);
IOMMUSIM_ABI_OFF(iommu_hw_info_vtd, ecap_reg, 16);

IOMMUSIM_ABI_SIZE(iommu_hw_info, 40);
IOMMUSIM_ABI_OFF(iommu_hw_info, size, 0);
IOMMUSIM_ABI_OFF(iommu_hw_info, flags, 4);
IOMMUSIM_ABI_OFF(iommu_hw_info, dev_id, 8);
IOMMUSIM_ABI_OFF(iommu_hw_info, data_len, 12);
IOMMUSIM_ABI_OFF(iommu_hw_info, data_uptr, 16);
IOMMUSIM_ABI_OFF(iommu_hw_info, out_data_type, 24);
IOMMUSIM_ABI_OFF(iommu_hw_info, out_max_pasid_log2, 28);
IOMMUSIM_ABI_FIELD_SIZE(iommu_hw_info, out_max_pasid_log2, 1);
IOMMUSIM_ABI_OFF(iommu_hw_info, __reserved, 29);
IOMMUSIM_ABI_FIELD_SIZE(iommu_hw_info, __reserved, 3);
IOMMUSIM_ABI_OFF(iommu_hw_info, out_capabilities, 32);

IOMMUSIM_ABI_SIZE(iommu_hwpt_set_dirty_tracking, 16);
IOMMUSIM_ABI_OFF(iommu_hwpt_set_dirty_tracking, size, 0);
IOMMUSIM_ABI_OFF(iommu_hwpt_set_dirty_tracking, flags, 4);
IOMMUSIM_ABI_OFF(iommu_hwpt_set_dirty_tracking, hwpt_id, 8);
IOMMUSIM_ABI_OFF(iommu_hwpt_set_dirty_tracking, __reserved, 12);

IOMMUSIM_ABI_SIZE(iommu_hwpt_get_dirty_bitmap, 48);
IOMMUSIM_ABI_OFF(iommu_hwpt_get_dirty_bitmap, size, 0);
IOMMUSIM_ABI_OFF(iommu_hwpt_get_dirty_bitmap, hwpt_id, 4);
IOMMUSIM_ABI_OFF(iommu_hwpt_get_dirty_bitmap, flags, 8);
IOMMUSIM_ABI_OFF(iommu_hwpt_get_dirty_bitmap, __reserved, 12);
IOMMUSIM_ABI_OFF(iommu_hwpt_get_dirty_bitmap, iova, 16);
IOMMUSIM_ABI_OFF(iommu_hwpt_get_dirty_bitmap, length, 24);
IOMMUSIM_ABI_OFF(iommu_hwpt_get_dirty_bitmap, page_size, 32);
IOMMUSIM_ABI_OFF(iommu_hwpt_get_dirty_bitmap, data, 40);

IOMMUSIM_ABI_SIZE(iommu_hwpt_vtd_s1_invalidate, 24);
IOMMUSIM_ABI_OFF(iommu_hwpt_vtd_s1_invalidate, addr, 0);
IOMMUSIM_ABI_OFF(iommu_hwpt_vtd_s1_invalidate, npages, 8);
IOMMUSIM_ABI_OFF(iommu_hwpt_vtd_s1_invalidate, flags, 16);
IOMMUSIM_ABI_OFF(iommu_hwpt_vtd_s1_invalidate, __reserved, 20);

IOMMUSIM_ABI_SIZE(iommu_hwpt_invalidate, 32);
IOMMUSIM_ABI_OFF(iommu_hwpt_invalidate, size, 0);
IOMMUSIM_ABI_OFF(iommu_hwpt_invalidate, hwpt_id, 4);
IOMMUSIM_ABI_OFF(iommu_hwpt_invalidate, data_uptr, 8);
IOMMUSIM_ABI_OFF(iommu_hwpt_invalidate, data_type, 16);
IOMMUSIM_ABI_OFF(iommu_hwpt_invalidate, entry_len, 20);
IOMMUSIM_ABI_OFF(iommu_hwpt_invalidate, entry_num, 24);
IOMMUSIM_ABI_OFF(iommu_hwpt_invalidate, __reserved, 28);

IOMMUSIM_ABI_SIZE(iommu_test_cmd, 72);
IOMMUSIM_ABI_OFF(iommu_test_cmd, size, 0);
IOMMUSIM_ABI_OFF(iommu_test_cmd, op, 4);
IOMMUSIM_ABI_OFF(iommu_test_cmd, id, 8);
IOMMUSIM_ABI_OFF(iommu_test_cmd, __reserved, 12);
IOMMUSIM_ABI_OFF(iommu_test_cmd, mock_domain.out_stdev_id, 16);
IOMMUSIM_ABI_OFF(iommu_test_cmd, mock_domain.out_hwpt_id, 20);
IOMMUSIM_ABI_OFF(iommu_test_cmd, mock_domain.out_idev_id, 24);
IOMMUSIM_ABI_OFF(iommu_test_cmd, mock_domain_flags.dev_flags, 28);
IOMMUSIM_ABI_OFF(iommu_test_cmd, mock_domain_replace.pt_id, 16);
IOMMUSIM_ABI_OFF(iommu_test_cmd, check_map.iova, 16);
IOMMUSIM_ABI_OFF(iommu_test_cmd, check_map.length, 24);
IOMMUSIM_ABI_OFF(iommu_test_cmd, check_map.uptr, 32);
IOMMUSIM_ABI_OFF(iommu_test_cmd, check_refs.length, 16);
IOMMUSIM_ABI_OFF(iommu_test_cmd, check_refs.uptr, 24);
IOMMUSIM_ABI_OFF(iommu_test_cmd, check_refs.refs, 32);
IOMMUSIM_ABI_OFF(iommu_test_cmd, memory_limit.limit, 16);
IOMMUSIM_ABI_OFF(iommu_test_cmd, dirty.out_nr_dirty, 56);
IOMMUSIM_ABI_OFF(iommu_test_cmd, check_iotlb.id, 16);
IOMMUSIM_ABI_OFF(iommu_test_cmd, check_iotlb.iotlb, 20);
IOMMUSIM_ABI_OFF(iommu_test_cmd, create_access.out_access_fd, 16);
IOMMUSIM_ABI_OFF(iommu_test_cmd, create_access.flags, 20);
IOMMUSIM_ABI_OFF(iommu_test_cmd, destroy_access_pages.access_pages_id, 16);
IOMMUSIM_ABI_OFF(iommu_test_cmd, access_pages.flags, 16);
IOMMUSIM_ABI_OFF(iommu_test_cmd, access_pages.out_access_pages_id, 20);
IOMMUSIM_ABI_OFF(iommu_test_cmd, access_pages.iova, 24);
IOMMUSIM_ABI_OFF(iommu_test_cmd, access_pages.length, 32);
IOMMUSIM_ABI_OFF(iommu_test_cmd, access_pages.uptr, 40);
IOMMUSIM_ABI_OFF(iommu_test_cmd, access_rw.iova, 16);
IOMMUSIM_ABI_OFF(iommu_test_cmd, access_rw.length, 24);
IOMMUSIM_ABI_OFF(iommu_test_cmd, access_rw.uptr, 32);
IOMMUSIM_ABI_OFF(iommu_test_cmd, access_rw.flags, 40);
IOMMUSIM_ABI_OFF(iommu_test_cmd, access_replace_ioas.ioas_id, 16);
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_test_cmd, check_dev_cache.id, 16));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_test_cmd, check_dev_cache.cache, 20));
IOMMUSIM_ABI_OFF(iommu_test_cmd, trigger_iopf.dev_id, 16);
IOMMUSIM_ABI_OFF(iommu_test_cmd, trigger_iopf.pasid, 20);
IOMMUSIM_ABI_OFF(iommu_test_cmd, trigger_iopf.grpid, 24);
IOMMUSIM_ABI_OFF(iommu_test_cmd, trigger_iopf.perm, 28);
IOMMUSIM_ABI_OFF(iommu_test_cmd, trigger_iopf.addr, 32);
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_test_cmd, pasid_attach.pt_id, 20));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_test_cmd, pasid_check.hwpt_id, 20));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_test_cmd, pasid_check.out_result_ptr, 24));
IOMMUSIM_ABI_OFF(iommu_test_cmd, last, 64);

IOMMUSIM_ABI_SIZE(iommu_hwpt_pgfault, 40);
IOMMUSIM_ABI_OFF(iommu_hwpt_pgfault, flags, 0);
IOMMUSIM_ABI_OFF(iommu_hwpt_pgfault, dev_id, 4);
IOMMUSIM_ABI_OFF(iommu_hwpt_pgfault, pasid, 8);
IOMMUSIM_ABI_OFF(iommu_hwpt_pgfault, grpid, 12);
IOMMUSIM_ABI_OFF(iommu_hwpt_pgfault, perm, 16);
IOMMUSIM_ABI_OFF(iommu_hwpt_pgfault, __reserved, 20);
IOMMUSIM_ABI_OFF(iommu_hwpt_pgfault, addr, 24);
IOMMUSIM_ABI_OFF(iommu_hwpt_pgfault, length, 32);
IOMMUSIM_ABI_OFF(iommu_hwpt_pgfault, cookie, 36);

IOMMUSIM_ABI_SIZE(iommu_hwpt_page_response, 8);
IOMMUSIM_ABI_OFF(iommu_hwpt_page_response, cookie, 0);
IOMMUSIM_ABI_OFF(iommu_hwpt_page_response, code, 4);

IOMMUSIM_ABI_SIZE(iommu_fault_alloc, 16);
IOMMUSIM_ABI_OFF(iommu_fault_alloc, size, 0);
IOMMUSIM_ABI_OFF(iommu_fault_alloc, flags, 4);
IOMMUSIM_ABI_OFF(iommu_fault_alloc, out_fault_id, 8);
IOMMUSIM_ABI_OFF(iommu_fault_alloc, out_fault_fd, 12);

IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_SIZE(iommu_viommu_alloc, 40));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_viommu_alloc, flags, 4));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_viommu_alloc, type, 8));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_viommu_alloc, dev_id, 12));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_viommu_alloc, hwpt_id, 16));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_viommu_alloc, out_viommu_id, 20));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_viommu_alloc, data_len, 24));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_viommu_alloc, __reserved, 28));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_viommu_alloc, data_uptr, 32));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_VIOMMU_ALLOC, 0x3B90));

IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_SIZE(iommu_vdevice_alloc, 24));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_vdevice_alloc, viommu_id, 4));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_vdevice_alloc, dev_id, 8));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_vdevice_alloc, out_vdevice_id, 12));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_vdevice_alloc, virt_id, 16));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_VDEVICE_ALLOC, 0x3B91));

IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_SIZE(iommu_veventq_alloc, 32));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_veventq_alloc, flags, 4));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_veventq_alloc, viommu_id, 8));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_veventq_alloc, type, 12));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_veventq_alloc, veventq_depth, 16));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_veventq_alloc, out_veventq_id, 20));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_veventq_alloc, out_veventq_fd, 24));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_veventq_alloc, __reserved, 28));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_VEVENTQ_ALLOC, 0x3B93));

IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_SIZE(iommufd_vevent_header, 8));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommufd_vevent_header, flags, 0));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommufd_vevent_header, sequence, 4));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_VEVENTQ_FLAG_LOST_EVENTS, 1));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_VIOMMU_TYPE_DEFAULT, 0));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 1));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_VEVENTQ_TYPE_DEFAULT, 0));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, 1));

IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_SIZE(iommu_viommu_invalidate_selftest, 12));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_viommu_invalidate_selftest, flags, 0));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_viommu_invalidate_selftest, vdev_id, 4));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_viommu_invalidate_selftest, cache_id, 8));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_SIZE(iommu_viommu_event_selftest, 4));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(iommu_test_cmd, trigger_vevent.dev_id, 16));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_TRIGGER_VEVENT, 17));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_VIOMMU_TYPE_SELFTEST, 0xdeadbeef));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, 0xdeadbeef));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_VEVENTQ_TYPE_SELFTEST, 0xbeefbeef));

IOMMUSIM_ABI_SIZE(iommu_test_hw_info, 8);
IOMMUSIM_ABI_OFF(iommu_test_hw_info, flags, 0);
IOMMUSIM_ABI_OFF(iommu_test_hw_info, test_reg, 4);

IOMMUSIM_ABI_SIZE(iommu_hwpt_selftest, 4);
IOMMUSIM_ABI_OFF(iommu_hwpt_selftest, iotlb, 0);

IOMMUSIM_ABI_SIZE(iommu_hwpt_invalidate_selftest, 8);
IOMMUSIM_ABI_OFF(iommu_hwpt_invalidate_selftest, flags, 0);
IOMMUSIM_ABI_OFF(iommu_hwpt_invalidate_selftest, iotlb_id, 4);

IOMMUSIM_ABI_SIZE(vfio_device_bind_iommufd, 16);
IOMMUSIM_ABI_OFF(vfio_device_bind_iommufd, argsz, 0);
IOMMUSIM_ABI_OFF(vfio_device_bind_iommufd, flags, 4);
IOMMUSIM_ABI_OFF(vfio_device_bind_iommufd, iommufd, 8);
IOMMUSIM_ABI_OFF(vfio_device_bind_iommufd, out_devid, 12);

IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_SIZE(vfio_device_attach_iommufd_pt, 16));
IOMMUSIM_ABI_OFF(vfio_device_attach_iommufd_pt, argsz, 0);
IOMMUSIM_ABI_OFF(vfio_device_attach_iommufd_pt, flags, 4);
IOMMUSIM_ABI_OFF(vfio_device_attach_iommufd_pt, pt_id, 8);
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(vfio_device_attach_iommufd_pt, pasid, 12));

IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_SIZE(vfio_device_detach_iommufd_pt, 12));
IOMMUSIM_ABI_OFF(vfio_device_detach_iommufd_pt, argsz, 0);
IOMMUSIM_ABI_OFF(vfio_device_detach_iommufd_pt, flags, 4);
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_OFF(vfio_device_detach_iommufd_pt, pasid, 8));

IOMMUSIM_ABI_SIZE(vfio_device_info, 24);
IOMMUSIM_ABI_OFF(vfio_device_info, argsz, 0);
IOMMUSIM_ABI_OFF(vfio_device_info, flags, 4);
IOMMUSIM_ABI_OFF(vfio_device_info, num_regions, 8);
IOMMUSIM_ABI_OFF(vfio_device_info, num_irqs, 12);
IOMMUSIM_ABI_OFF(vfio_device_info, cap_offset, 16);
IOMMUSIM_ABI_OFF(vfio_device_info, pad, 20);

IOMMUSIM_ABI_SIZE(vfio_region_info, 32);
IOMMUSIM_ABI_OFF(vfio_region_info, argsz, 0);
IOMMUSIM_ABI_OFF(vfio_region_info, flags, 4);
IOMMUSIM_ABI_OFF(vfio_region_info, index, 8);
IOMMUSIM_ABI_OFF(vfio_region_info, cap_offset, 12);
IOMMUSIM_ABI_OFF(vfio_region_info, size, 16);
IOMMUSIM_ABI_OFF(vfio_region_info, offset, 24);

IOMMUSIM_ABI_SIZE(vfio_irq_info, 16);
IOMMUSIM_ABI_OFF(vfio_irq_info, argsz, 0);
IOMMUSIM_ABI_OFF(vfio_irq_info, flags, 4);
IOMMUSIM_ABI_OFF(vfio_irq_info, index, 8);
IOMMUSIM_ABI_OFF(vfio_irq_info, count, 12);

IOMMUSIM_ABI_SIZE(vfio_irq_set, 20);
IOMMUSIM_ABI_OFF(vfio_irq_set, argsz, 0);
IOMMUSIM_ABI_OFF(vfio_irq_set, flags, 4);
IOMMUSIM_ABI_OFF(vfio_irq_set, index, 8);
IOMMUSIM_ABI_OFF(vfio_irq_set, start, 12);
IOMMUSIM_ABI_OFF(vfio_irq_set, count, 16);
IOMMUSIM_ABI_OFF(vfio_irq_set, data, 20);

/* Command numbers (_IO(';', nr): (0x3B << 8) | nr). */
IOMMUSIM_ABI_VALUE(IOMMU_DESTROY, 0x3B80);
IOMMUSIM_ABI_VALUE(IOMMU_IOAS_ALLOC, 0x3B81);
IOMMUSIM_ABI_VALUE(IOMMU_IOAS_IOVA_RANGES, 0x3B84);
IOMMUSIM_ABI_VALUE(IOMMU_IOAS_MAP, 0x3B85);
IOMMUSIM_ABI_VALUE(IOMMU_IOAS_UNMAP, 0x3B86);
IOMMUSIM_ABI_VALUE(IOMMU_IOAS_ALLOW_IOVAS, 0x3B82);
IOMMUSIM_ABI_VALUE(IOMMU_IOAS_COPY, 0x3B83);
IOMMUSIM_ABI_VALUE(IOMMU_OPTION, 0x3B87);
IOMMUSIM_ABI_VALUE(IOMMU_OPTION_RLIMIT_MODE, 0);
IOMMUSIM_ABI_VALUE(IOMMU_OPTION_HUGE_PAGES, 1);
IOMMUSIM_ABI_VALUE(IOMMU_OPTION_OP_SET, 0);
IOMMUSIM_ABI_VALUE(IOMMU_OPTION_OP_GET, 1);
IOMMUSIM_ABI_VALUE(IOMMU_HWPT_ALLOC, 0x3B89);
IOMMUSIM_ABI_VALUE(IOMMU_GET_HW_INFO, 0x3B8A);
IOMMUSIM_ABI_VALUE(IOMMU_HWPT_INVALIDATE, 0x3B8D);
IOMMUSIM_ABI_VALUE(IOMMU_TEST_CMD, 0x3BA0);
IOMMUSIM_ABI_VALUE(IOMMU_FAULT_QUEUE_ALLOC, 0x3B8E);
IOMMUSIM_ABI_VALUE(VFIO_DEVICE_BIND_IOMMUFD, 0x3B76);
IOMMUSIM_ABI_VALUE(VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0x3B77);
IOMMUSIM_ABI_VALUE(VFIO_DEVICE_DETACH_IOMMUFD_PT, 0x3B78);
IOMMUSIM_ABI_VALUE(VFIO_DEVICE_GET_INFO, 0x3B6B);
IOMMUSIM_ABI_VALUE(VFIO_DEVICE_GET_REGION_INFO, 0x3B6C);
IOMMUSIM_ABI_VALUE(VFIO_DEVICE_GET_IRQ_INFO, 0x3B6D);
IOMMUSIM_ABI_VALUE(VFIO_DEVICE_SET_IRQS, 0x3B6E);
IOMMUSIM_ABI_VALUE(VFIO_DEVICE_RESET, 0x3B6F);
IOMMUSIM_ABI_VALUE(IOMMUFD_CMD_BASE, 0x80);
IOMMUSIM_ABI_VALUE(IOMMUFD_CMD_IOAS_ALLOW_IOVAS, 0x82);
IOMMUSIM_ABI_VALUE(IOMMUFD_CMD_IOAS_COPY, 0x83);
IOMMUSIM_ABI_VALUE(IOMMUFD_CMD_OPTION, 0x87);
IOMMUSIM_ABI_VALUE(IOMMUFD_CMD_VFIO_IOAS, 0x88);
IOMMUSIM_ABI_VALUE(IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING, 0x8b);
IOMMUSIM_ABI_VALUE(IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP, 0x8c);
IOMMUSIM_ABI_VALUE(IOMMUFD_CMD_FAULT_QUEUE_ALLOC, 0x8e);
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMUFD_CMD_IOAS_MAP_FILE, 0x8f));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMUFD_CMD_VIOMMU_ALLOC, 0x90));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMUFD_CMD_VDEVICE_ALLOC, 0x91));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMUFD_CMD_IOAS_CHANGE_PROCESS, 0x92));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMUFD_CMD_VEVENTQ_ALLOC, 0x93));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMUFD_CMD_HW_QUEUE_ALLOC, 0x94));

/* Flags and types. */
IOMMUSIM_ABI_VALUE(IOMMU_IOAS_MAP_FIXED_IOVA, 1);
IOMMUSIM_ABI_VALUE(IOMMU_IOAS_MAP_WRITEABLE, 2);
IOMMUSIM_ABI_VALUE(IOMMU_IOAS_MAP_READABLE, 4);
IOMMUSIM_ABI_VALUE(IOMMU_HWPT_ALLOC_NEST_PARENT, 1);
IOMMUSIM_ABI_VALUE(IOMMU_HWPT_ALLOC_DIRTY_TRACKING, 2);
IOMMUSIM_ABI_VALUE(IOMMU_HWPT_FAULT_ID_VALID, 4);
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_HWPT_ALLOC_PASID, 8));
IOMMUSIM_ABI_VALUE(IOMMU_PGFAULT_FLAGS_PASID_VALID, 1);
IOMMUSIM_ABI_VALUE(IOMMU_PGFAULT_FLAGS_LAST_PAGE, 2);
IOMMUSIM_ABI_VALUE(IOMMU_PGFAULT_PERM_READ, 1);
IOMMUSIM_ABI_VALUE(IOMMU_PGFAULT_PERM_WRITE, 2);
IOMMUSIM_ABI_VALUE(IOMMU_PGFAULT_PERM_EXEC, 4);
IOMMUSIM_ABI_VALUE(IOMMU_PGFAULT_PERM_PRIV, 8);
IOMMUSIM_ABI_VALUE(IOMMUFD_PAGE_RESP_SUCCESS, 0);
IOMMUSIM_ABI_VALUE(IOMMUFD_PAGE_RESP_INVALID, 1);
IOMMUSIM_ABI_VALUE(IOMMU_VTD_S1_SRE, 1);
IOMMUSIM_ABI_VALUE(IOMMU_VTD_S1_EAFE, 2);
IOMMUSIM_ABI_VALUE(IOMMU_VTD_S1_WPE, 4);
IOMMUSIM_ABI_VALUE(IOMMU_HWPT_DATA_NONE, 0);
IOMMUSIM_ABI_VALUE(IOMMU_HWPT_DATA_VTD_S1, 1);
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_HWPT_DATA_ARM_SMMUV3, 2));
IOMMUSIM_ABI_VALUE(IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17, 1);
IOMMUSIM_ABI_VALUE(IOMMU_HW_INFO_TYPE_NONE, 0);
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_HW_INFO_TYPE_DEFAULT, 0));
IOMMUSIM_ABI_VALUE(IOMMU_HW_INFO_TYPE_INTEL_VTD, 1);
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_HW_INFO_TYPE_ARM_SMMUV3, 2));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_HW_INFO_FLAG_INPUT_TYPE, 1));
IOMMUSIM_ABI_VALUE(IOMMU_HW_CAP_DIRTY_TRACKING, 1);
IOMMUSIM_ABI_VALUE(IOMMU_HW_CAP_PCI_PASID_EXEC, 2);
IOMMUSIM_ABI_VALUE(IOMMU_HW_CAP_PCI_PASID_PRIV, 4);
IOMMUSIM_ABI_VALUE(IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 0);
IOMMUSIM_ABI_VALUE(IOMMU_HWPT_DIRTY_TRACKING_ENABLE, 1);
IOMMUSIM_ABI_VALUE(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, 1);
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, 1));
IOMMUSIM_ABI_VALUE(IOMMU_VTD_INV_FLAGS_LEAF, 1);
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(VFIO_DEVICE_ATTACH_PASID, 1));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(VFIO_DEVICE_DETACH_PASID, 1));
IOMMUSIM_ABI_VALUE(VFIO_DEVICE_FLAGS_RESET, 1);
IOMMUSIM_ABI_VALUE(VFIO_DEVICE_FLAGS_PCI, 2);
IOMMUSIM_ABI_VALUE(VFIO_REGION_INFO_FLAG_READ, 1);
IOMMUSIM_ABI_VALUE(VFIO_REGION_INFO_FLAG_WRITE, 2);
IOMMUSIM_ABI_VALUE(VFIO_REGION_INFO_FLAG_MMAP, 4);
IOMMUSIM_ABI_VALUE(VFIO_IRQ_INFO_EVENTFD, 1);
IOMMUSIM_ABI_VALUE(VFIO_IRQ_INFO_MASKABLE, 2);
IOMMUSIM_ABI_VALUE(VFIO_IRQ_INFO_AUTOMASKED, 4);
IOMMUSIM_ABI_VALUE(VFIO_IRQ_INFO_NORESIZE, 8);
IOMMUSIM_ABI_VALUE(VFIO_IRQ_SET_DATA_NONE, 1);
IOMMUSIM_ABI_VALUE(VFIO_IRQ_SET_DATA_BOOL, 2);
IOMMUSIM_ABI_VALUE(VFIO_IRQ_SET_DATA_EVENTFD, 4);
IOMMUSIM_ABI_VALUE(VFIO_IRQ_SET_ACTION_MASK, 8);
IOMMUSIM_ABI_VALUE(VFIO_IRQ_SET_ACTION_UNMASK, 16);
IOMMUSIM_ABI_VALUE(VFIO_IRQ_SET_ACTION_TRIGGER, 32);
IOMMUSIM_ABI_VALUE(VFIO_IRQ_SET_DATA_TYPE_MASK, 7);
IOMMUSIM_ABI_VALUE(VFIO_IRQ_SET_ACTION_TYPE_MASK, 56);
IOMMUSIM_ABI_VALUE(VFIO_PCI_BAR0_REGION_INDEX, 0);
IOMMUSIM_ABI_VALUE(VFIO_PCI_CONFIG_REGION_INDEX, 7);
IOMMUSIM_ABI_VALUE(VFIO_PCI_NUM_REGIONS, 9);
IOMMUSIM_ABI_VALUE(VFIO_PCI_INTX_IRQ_INDEX, 0);
IOMMUSIM_ABI_VALUE(VFIO_PCI_MSI_IRQ_INDEX, 1);
IOMMUSIM_ABI_VALUE(VFIO_PCI_NUM_IRQS, 5);

/* The selftest mock (iommufd_test.h). */
IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_ADD_RESERVED, 1);
IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_MOCK_DOMAIN, 2);
IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_MD_CHECK_MAP, 3);
IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_MD_CHECK_REFS, 4);
IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_CREATE_ACCESS, 5);
IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, 6);
IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_ACCESS_PAGES, 7);
IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_ACCESS_RW, 8);
IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT, 9);
IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, 10);
IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, 11);
IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, 12);
IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_DIRTY, 13);
IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_MD_CHECK_IOTLB, 14);
IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_TRIGGER_IOPF, 15);
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_DEV_CHECK_CACHE, 16));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_PASID_ATTACH, 18));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_PASID_REPLACE, 19));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_PASID_DETACH, 20));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_TEST_OP_PASID_CHECK_HWPT, 21));
IOMMUSIM_ABI_VALUE(MOCK_APERTURE_START, 1UL << 24);
IOMMUSIM_ABI_VALUE(MOCK_APERTURE_LAST, (1UL << 31) - 1);
IOMMUSIM_ABI_VALUE(MOCK_NESTED_DOMAIN_IOTLB_ID_MAX, 3);
IOMMUSIM_ABI_VALUE(MOCK_NESTED_DOMAIN_IOTLB_NUM, 4);
IOMMUSIM_ABI_VALUE(MOCK_FLAGS_ACCESS_WRITE, 1 << 0);
IOMMUSIM_ABI_VALUE(MOCK_FLAGS_ACCESS_SYZ, 1 << 16);
IOMMUSIM_ABI_VALUE(MOCK_ACCESS_RW_WRITE, 1 << 0);
IOMMUSIM_ABI_VALUE(MOCK_ACCESS_RW_SLOW_PATH, 1 << 2);
IOMMUSIM_ABI_VALUE(MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES, 1 << 0);
IOMMUSIM_ABI_VALUE(MOCK_FLAGS_DEVICE_NO_DIRTY, 1 << 0);
IOMMUSIM_ABI_VALUE(MOCK_FLAGS_DEVICE_HUGE_IOVA, 1 << 1);
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(MOCK_FLAGS_DEVICE_PASID, 1 << 2));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(MOCK_PASID_WIDTH, 20));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(MOCK_DEV_CACHE_ID_MAX, 3));
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(MOCK_DEV_CACHE_NUM, 4));
IOMMUSIM_ABI_VALUE(IOMMU_HW_INFO_TYPE_SELFTEST, 0xfeedbeef);
IOMMUSIM_ABI_VALUE(IOMMU_HW_INFO_SELFTEST_REGVAL, 0xdeadbeef);
IOMMUSIM_ABI_VALUE(IOMMU_HWPT_DATA_SELFTEST, 0xdead);
IOMMUSIM_ABI_VALUE(IOMMU_TEST_IOTLB_DEFAULT, 0xbadbeef);
IOMMUSIM_ABI_NEWER(IOMMUSIM_ABI_VALUE(IOMMU_TEST_DEV_CACHE_DEFAULT, 0xbaddad));
IOMMUSIM_ABI_VALUE(IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 0xdeadbeef);
IOMMUSIM_ABI_VALUE(IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID, 0xdadbeef);
IOMMUSIM_ABI_VALUE(IOMMU_TEST_INVALIDATE_FLAG_ALL, 1);

IOMMUSIM_ABI_SIZE(iommu_vfio_ioas, 12);
IOMMUSIM_ABI_OFF(iommu_vfio_ioas, size, 0);
IOMMUSIM_ABI_OFF(iommu_vfio_ioas, ioas_id, 4);
IOMMUSIM_ABI_OFF(iommu_vfio_ioas, op, 8);
IOMMUSIM_ABI_OFF(iommu_vfio_ioas, __reserved, 10);
IOMMUSIM_ABI_VALUE(IOMMU_VFIO_IOAS, 0x3b88);
IOMMUSIM_ABI_VALUE(IOMMU_VFIO_IOAS_CLEAR, 2);
IOMMUSIM_ABI_VALUE(VFIO_API_VERSION, 0);
IOMMUSIM_ABI_VALUE(VFIO_TYPE1_IOMMU, 1);
IOMMUSIM_ABI_VALUE(VFIO_TYPE1v2_IOMMU, 3);
IOMMUSIM_ABI_VALUE(VFIO_DMA_CC_IOMMU, 4);
IOMMUSIM_ABI_VALUE(VFIO_NOIOMMU_IOMMU, 8);
IOMMUSIM_ABI_VALUE(VFIO_UNMAP_ALL, 9);
IOMMUSIM_ABI_VALUE(VFIO_UPDATE_VADDR, 10);
IOMMUSIM_ABI_VALUE(VFIO_GET_API_VERSION, 0x3b64);
IOMMUSIM_ABI_VALUE(VFIO_CHECK_EXTENSION, 0x3b65);
IOMMUSIM_ABI_VALUE(VFIO_SET_IOMMU, 0x3b66);
IOMMUSIM_ABI_SIZE(vfio_info_cap_header, 8);
IOMMUSIM_ABI_OFF(vfio_info_cap_header, next, 4);
IOMMUSIM_ABI_SIZE(vfio_iommu_type1_info, 24);
IOMMUSIM_ABI_OFF(vfio_iommu_type1_info, iova_pgsizes, 8);
IOMMUSIM_ABI_OFF(vfio_iommu_type1_info, cap_offset, 16);
IOMMUSIM_ABI_VALUE(VFIO_IOMMU_GET_INFO, 0x3b70);
IOMMUSIM_ABI_VALUE(VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1);
IOMMUSIM_ABI_VALUE(VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 3);
IOMMUSIM_ABI_SIZE(vfio_iova_range, 16);
IOMMUSIM_ABI_SIZE(vfio_iommu_type1_info_cap_iova_range, 16);
IOMMUSIM_ABI_OFF(vfio_iommu_type1_info_cap_iova_range, nr_iovas, 8);
IOMMUSIM_ABI_SIZE(vfio_iommu_type1_info_dma_avail, 12);
IOMMUSIM_ABI_OFF(vfio_iommu_type1_info_dma_avail, avail, 8);
IOMMUSIM_ABI_SIZE(vfio_iommu_type1_dma_map, 32);
IOMMUSIM_ABI_OFF(vfio_iommu_type1_dma_map, vaddr, 8);
IOMMUSIM_ABI_OFF(vfio_iommu_type1_dma_map, iova, 16);
IOMMUSIM_ABI_OFF(vfio_iommu_type1_dma_map, size, 24);
IOMMUSIM_ABI_VALUE(VFIO_IOMMU_MAP_DMA, 0x3b71);
IOMMUSIM_ABI_SIZE(vfio_iommu_type1_dma_unmap, 24);
IOMMUSIM_ABI_OFF(vfio_iommu_type1_dma_unmap, iova, 8);
IOMMUSIM_ABI_OFF(vfio_iommu_type1_dma_unmap, size, 16);
IOMMUSIM_ABI_VALUE(VFIO_DMA_UNMAP_FLAG_ALL, 2);
IOMMUSIM_ABI_VALUE(VFIO_IOMMU_UNMAP_DMA, 0x3b72);
IOMMUSIM_ABI_VALUE(VFIO_IOMMU_DIRTY_PAGES, 0x3b75);
