// Set-associative IOTLB: the RTL twin of the C++ reference model (tlm/iotlb.h), bit for bit the
// contract of tlm/iotlb_if.h.
//
// Models: NumSets x NumWays entries tagged by DID, PASID, translation kind (PGTT, docs/vtd-facts.md §4.4),
// page size (4 KiB / 2 MiB / 1 GiB) and size-aligned page number, with output page number and the
// permission / A-D payload; lookup probing the 4 KiB, 2 MiB then 1 GiB set; fill with in-place
// refill of a same-tag entry, else the lowest invalid way, else the tree-PLRU victim
// (rtl/iotlb_plru.sv); invalidation by every IOTLB scope of docs/vtd-facts.md §6.2-§6.3, walking one set
// per cycle with busy_o high. Each channel is a valid/ready request and a valid/ready response;
// one operation is in flight at a time (priority invalidate > fill > lookup).
// Does not model: paging-structure caches, the IH hint (§6.4), SRAM macros (entries are flops).
//
// Latency: lookup and fill respond one cycle after acceptance; an invalidation responds
// 1 + NumSets cycles after acceptance.
module iotlb
  import iotlb_pkg::*;
#(
  parameter int unsigned NumSets     = 16,
  parameter int unsigned NumWays     = 4,
  parameter int unsigned DidWidth    = 16,
  parameter int unsigned PasidWidth  = 20,
  parameter int unsigned VpnWidth    = 45,  // input address bits 56:12
  parameter int unsigned PfnWidth    = 40,  // output address bits 51:12
  parameter int unsigned PermWidth   = 8,   // iotlb_perm bits
  parameter int unsigned InvVpnWidth = 52,  // ADDR field (63:12) of an invalidation descriptor
  localparam int unsigned SetIdxWidth = (NumSets > 1) ? $clog2(NumSets) : 1,
  localparam int unsigned WayIdxWidth = (NumWays > 1) ? $clog2(NumWays) : 1,
  localparam int unsigned PlruWidth   = (NumWays > 1) ? NumWays - 1 : 1,
  localparam int unsigned CountWidth  = $clog2(NumSets * NumWays + 1)
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,

  // Lookup request / response
  input  logic                   lkp_req_valid_i,
  output logic                   lkp_req_ready_o,
  input  logic [DidWidth-1:0]    lkp_req_did_i,
  input  logic [PasidWidth-1:0]  lkp_req_pasid_i,
  input  logic [KindWidth-1:0]   lkp_req_kind_i,
  input  logic [VpnWidth-1:0]    lkp_req_vpn_i,
  output logic                   lkp_resp_valid_o,
  input  logic                   lkp_resp_ready_i,
  output logic                   lkp_resp_hit_o,
  output logic [SetIdxWidth-1:0] lkp_resp_set_o,
  output logic [WayIdxWidth-1:0] lkp_resp_way_o,
  output logic [DidWidth-1:0]    lkp_resp_did_o,
  output logic [PasidWidth-1:0]  lkp_resp_pasid_o,
  output logic [KindWidth-1:0]   lkp_resp_kind_o,
  output logic [LevelWidth-1:0]  lkp_resp_level_o,
  output logic [VpnWidth-1:0]    lkp_resp_vpn_o,
  output logic [PfnWidth-1:0]    lkp_resp_pfn_o,
  output logic [PermWidth-1:0]   lkp_resp_perm_o,

  // Fill request / response
  input  logic                   fill_req_valid_i,
  output logic                   fill_req_ready_o,
  input  logic [DidWidth-1:0]    fill_req_did_i,
  input  logic [PasidWidth-1:0]  fill_req_pasid_i,
  input  logic [KindWidth-1:0]   fill_req_kind_i,
  input  logic [LevelWidth-1:0]  fill_req_level_i,
  input  logic [VpnWidth-1:0]    fill_req_vpn_i,
  input  logic [PfnWidth-1:0]    fill_req_pfn_i,
  input  logic [PermWidth-1:0]   fill_req_perm_i,
  output logic                   fill_resp_valid_o,
  input  logic                   fill_resp_ready_i,
  output logic [SetIdxWidth-1:0] fill_resp_set_o,
  output logic [WayIdxWidth-1:0] fill_resp_way_o,
  output logic                   fill_resp_replaced_o,  // same tag updated in place
  output logic                   fill_resp_evict_valid_o,  // a valid entry of another tag dropped
  output logic [DidWidth-1:0]    fill_resp_evict_did_o,
  output logic [PasidWidth-1:0]  fill_resp_evict_pasid_o,
  output logic [KindWidth-1:0]   fill_resp_evict_kind_o,
  output logic [LevelWidth-1:0]  fill_resp_evict_level_o,
  output logic [VpnWidth-1:0]    fill_resp_evict_vpn_o,
  output logic [PfnWidth-1:0]    fill_resp_evict_pfn_o,
  output logic [PermWidth-1:0]   fill_resp_evict_perm_o,

  // Invalidate request / response
  input  logic                   inv_req_valid_i,
  output logic                   inv_req_ready_o,
  input  logic [InvWidth-1:0]    inv_req_scope_i,
  input  logic [DidWidth-1:0]    inv_req_did_i,
  input  logic [PasidWidth-1:0]  inv_req_pasid_i,
  input  logic [InvVpnWidth-1:0] inv_req_vpn_i,
  input  logic [5:0]             inv_req_am_i,
  output logic                   inv_resp_valid_o,
  input  logic                   inv_resp_ready_i,
  output logic [CountWidth-1:0]  inv_resp_count_o,  // entries dropped

  // An invalidation walk is running; lookups and fills are held off.
  output logic                   busy_o,

  // Debug read port (combinational, no side effects): entry (dbg_set_i, dbg_way_i) and the
  // PLRU bits of dbg_set_i.
  input  logic [SetIdxWidth-1:0] dbg_set_i,
  input  logic [WayIdxWidth-1:0] dbg_way_i,
  output logic                   dbg_valid_o,
  output logic [DidWidth-1:0]    dbg_did_o,
  output logic [PasidWidth-1:0]  dbg_pasid_o,
  output logic [KindWidth-1:0]   dbg_kind_o,
  output logic [LevelWidth-1:0]  dbg_level_o,
  output logic [VpnWidth-1:0]    dbg_vpn_o,
  output logic [PfnWidth-1:0]    dbg_pfn_o,
  output logic [PermWidth-1:0]   dbg_perm_o,
  output logic [PlruWidth-1:0]   dbg_plru_o
);

  ////////////////
  // Encodings  //
  ////////////////

  // kind_e, level_e and inv_scope_e come from rtl/iotlb_pkg.sv, generated with tlm/iotlb_codes.h
  // from one table (data/iotlb_codes.json). Ports carry the raw codes; the enums name them.
  localparam int unsigned LEVEL_STRIDE = 9;  // page-number bits one page-size level adds

  typedef enum logic [0:0] {
    StIdle    = 1'b0,
    StInvWalk = 1'b1
  } state_e;

  localparam int unsigned NumLevels = 3;
  localparam int unsigned RangeWidth = InvVpnWidth + 1;  // room for base + 2^am without overflow

  // Set an entry of page size `level` (or a probe of that size) maps to.
  function automatic logic [SetIdxWidth-1:0] set_index(logic [VpnWidth-1:0] vpn,
                                                       logic [LevelWidth-1:0] level);
    return (NumSets > 1) ? SetIdxWidth'(vpn >> (LEVEL_STRIDE * 32'(level))) : '0;
  endfunction

  // Page-number bits below the page size (ignored by the tag compare).
  function automatic logic [VpnWidth-1:0] page_offset_mask(logic [LevelWidth-1:0] level);
    return (VpnWidth'(1) << (LEVEL_STRIDE * 32'(level))) - VpnWidth'(1);
  endfunction

  function automatic logic [CountWidth-1:0] popcount(logic [NumWays-1:0] v);
    logic [CountWidth-1:0] n;
    n = '0;
    for (int unsigned w = 0; w < NumWays; w++) begin
      n = n + CountWidth'(v[w]);
    end
    return n;
  endfunction

  ////////////////
  // Storage    //
  ////////////////

  logic [NumWays-1:0]    valid_q [NumSets];
  logic [PlruWidth-1:0]  plru_q  [NumSets];
  logic [DidWidth-1:0]   did_q   [NumSets][NumWays];
  logic [PasidWidth-1:0] pasid_q [NumSets][NumWays];
  logic [KindWidth-1:0]  kind_q  [NumSets][NumWays];
  logic [LevelWidth-1:0] level_q [NumSets][NumWays];
  logic [VpnWidth-1:0]   vpn_q   [NumSets][NumWays];
  logic [PfnWidth-1:0]   pfn_q   [NumSets][NumWays];
  logic [PermWidth-1:0]  perm_q  [NumSets][NumWays];

  ////////////////
  // Control    //
  ////////////////

  state_e state_q, state_d;
  logic lkp_resp_valid_q, fill_resp_valid_q, inv_resp_valid_q;

  // A response not yet taken blocks the next request (one operation in flight).
  logic resp_stall, idle;
  assign resp_stall = (lkp_resp_valid_q & ~lkp_resp_ready_i) |
                      (fill_resp_valid_q & ~fill_resp_ready_i) |
                      (inv_resp_valid_q & ~inv_resp_ready_i);
  assign idle = (state_q == StIdle) & ~resp_stall;

  assign inv_req_ready_o  = idle;
  assign fill_req_ready_o = idle & ~inv_req_valid_i;
  assign lkp_req_ready_o  = idle & ~inv_req_valid_i & ~fill_req_valid_i;
  assign busy_o           = (state_q == StInvWalk);

  logic lkp_fire, fill_fire, inv_fire;
  assign lkp_fire  = lkp_req_valid_i & lkp_req_ready_o;
  assign fill_fire = fill_req_valid_i & fill_req_ready_o;
  assign inv_fire  = inv_req_valid_i & inv_req_ready_o;

  ////////////////
  // Lookup     //
  ////////////////

  logic [SetIdxWidth-1:0] lkp_set [NumLevels];
  logic [NumWays-1:0]     lkp_match [NumLevels];

  always_comb begin
    for (int unsigned l = 0; l < NumLevels; l++) begin
      logic [VpnWidth-1:0] aligned;
      aligned = lkp_req_vpn_i & ~page_offset_mask(LevelWidth'(l));
      lkp_set[l] = set_index(lkp_req_vpn_i, LevelWidth'(l));
      for (int unsigned w = 0; w < NumWays; w++) begin
        lkp_match[l][w] = valid_q[lkp_set[l]][w] &&
                          (level_q[lkp_set[l]][w] == 2'(l)) &&
                          (vpn_q[lkp_set[l]][w] == aligned) &&
                          (did_q[lkp_set[l]][w] == lkp_req_did_i) &&
                          (pasid_q[lkp_set[l]][w] == lkp_req_pasid_i) &&
                          (kind_q[lkp_set[l]][w] == lkp_req_kind_i);
      end
    end
  end

  // First hit in probe order: smallest page size, then lowest way.
  logic                   lkp_hit;
  logic [LevelWidth-1:0]  lkp_hit_level;
  logic [WayIdxWidth-1:0] lkp_hit_way;
  logic [SetIdxWidth-1:0] lkp_hit_set;

  always_comb begin
    lkp_hit       = 1'b0;
    lkp_hit_level = '0;
    lkp_hit_way   = '0;
    for (int l = NumLevels - 1; l >= 0; l--) begin
      for (int w = NumWays - 1; w >= 0; w--) begin
        if (lkp_match[l][w]) begin
          lkp_hit       = 1'b1;
          lkp_hit_level = 2'(l);
          lkp_hit_way   = WayIdxWidth'(w);
        end
      end
    end
    lkp_hit_set = lkp_set[lkp_hit_level];
  end

  ////////////////
  // Fill       //
  ////////////////

  logic [SetIdxWidth-1:0] fill_set;
  logic [NumWays-1:0]     fill_same, fill_free;
  assign fill_set = set_index(fill_req_vpn_i, fill_req_level_i);

  always_comb begin
    for (int unsigned w = 0; w < NumWays; w++) begin
      fill_free[w] = ~valid_q[fill_set][w];
      fill_same[w] = valid_q[fill_set][w] &&
                     (did_q[fill_set][w] == fill_req_did_i) &&
                     (pasid_q[fill_set][w] == fill_req_pasid_i) &&
                     (kind_q[fill_set][w] == fill_req_kind_i) &&
                     (level_q[fill_set][w] == fill_req_level_i) &&
                     (vpn_q[fill_set][w] == fill_req_vpn_i);
    end
  end

  logic [WayIdxWidth-1:0] fill_victim, fill_way, fill_same_way, fill_free_way;
  logic                   fill_replaced, fill_evict;

  // Lowest matching way of each kind.
  always_comb begin
    fill_same_way = '0;
    fill_free_way = '0;
    for (int w = NumWays - 1; w >= 0; w--) begin
      if (fill_same[w]) fill_same_way = WayIdxWidth'(w);
      if (fill_free[w]) fill_free_way = WayIdxWidth'(w);
    end
  end

  assign fill_replaced = |fill_same;
  assign fill_evict    = ~fill_replaced & ~(|fill_free);
  assign fill_way      = fill_replaced ? fill_same_way :
                         (|fill_free)  ? fill_free_way : fill_victim;

  ////////////////
  // PLRU       //
  ////////////////

  logic [PlruWidth-1:0] lkp_plru_next, fill_plru_next;

  iotlb_plru #(
    .NumWays(NumWays)
  ) u_plru_lkp (
    .state_i    (plru_q[lkp_hit_set]),
    .touch_way_i(lkp_hit_way),
    .state_o    (lkp_plru_next),
    .victim_o   ()
  );

  iotlb_plru #(
    .NumWays(NumWays)
  ) u_plru_fill (
    .state_i    (plru_q[fill_set]),
    .touch_way_i(fill_way),
    .state_o    (fill_plru_next),
    .victim_o   (fill_victim)
  );

  ////////////////
  // Invalidate //
  ////////////////

  inv_scope_e             inv_scope_q;
  logic [DidWidth-1:0]    inv_did_q;
  logic [PasidWidth-1:0]  inv_pasid_q;
  logic                   inv_whole_q;  // range covers the whole page-number space
  logic [RangeWidth-1:0]  inv_base_q, inv_end_q, inv_base_d, inv_end_d;
  logic [SetIdxWidth-1:0] walk_set_q;
  logic [CountWidth-1:0]  count_q;
  logic                   walk_last;

  // Range [base, end) in 4 KiB pages; the low am bits of the address are ignored (§3.2).
  always_comb begin
    logic [RangeWidth-1:0] pages;
    pages      = RangeWidth'(1) << inv_req_am_i;
    inv_base_d = RangeWidth'(inv_req_vpn_i) & ~(pages - RangeWidth'(1));
    inv_end_d  = inv_base_d + pages;
  end

  logic [NumWays-1:0] inv_drop;

  always_comb begin
    for (int unsigned w = 0; w < NumWays; w++) begin
      logic did_eq, pasid_eq, stage2, overlap, hit;
      logic [RangeWidth-1:0] page_base, page_end;
      did_eq    = did_q[walk_set_q][w] == inv_did_q;
      pasid_eq  = pasid_q[walk_set_q][w] == inv_pasid_q;
      stage2    = (kind_q[walk_set_q][w] == KindSecondStage) ||
                  (kind_q[walk_set_q][w] == KindPassThrough);
      page_base = RangeWidth'(vpn_q[walk_set_q][w]);
      page_end  = page_base + (RangeWidth'(1) << (LEVEL_STRIDE * 32'(level_q[walk_set_q][w])));
      overlap   = inv_whole_q || ((page_base < inv_end_q) && (inv_base_q < page_end));
      unique case (inv_scope_q)
        InvAll:         hit = 1'b1;
        InvDomain:      hit = did_eq;
        InvDomainRange: hit = did_eq && (!stage2 || overlap);
        InvPasid:       hit = did_eq && pasid_eq;
        InvPasidRange:  hit = did_eq && pasid_eq && !stage2 && overlap;
        default:        hit = 1'b0;
      endcase
      inv_drop[w] = valid_q[walk_set_q][w] && hit;
    end
  end

  assign walk_last = (walk_set_q == SetIdxWidth'(NumSets - 1));

  always_comb begin
    state_d = state_q;
    unique case (state_q)
      StIdle:    if (inv_fire) state_d = StInvWalk;
      StInvWalk: if (walk_last) state_d = StIdle;
      default:   state_d = StIdle;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q     <= StIdle;
      inv_scope_q <= InvAll;
      inv_did_q   <= '0;
      inv_pasid_q <= '0;
      inv_whole_q <= 1'b0;
      inv_base_q  <= '0;
      inv_end_q   <= '0;
      walk_set_q  <= '0;
      count_q     <= '0;
    end else begin
      state_q <= state_d;
      if (inv_fire) begin
        inv_scope_q <= inv_scope_e'(inv_req_scope_i);
        inv_did_q   <= inv_req_did_i;
        inv_pasid_q <= inv_req_pasid_i;
        inv_whole_q <= 32'(inv_req_am_i) >= InvVpnWidth;
        inv_base_q  <= inv_base_d;
        inv_end_q   <= inv_end_d;
        walk_set_q  <= '0;
        count_q     <= '0;
      end else if (state_q == StInvWalk) begin
        walk_set_q <= walk_set_q + SetIdxWidth'(1);
        count_q    <= count_q + popcount(inv_drop);
      end
    end
  end

  ////////////////////////
  // Valid and PLRU     //
  ////////////////////////

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      valid_q <= '{default: '0};
      plru_q  <= '{default: '0};
    end else if (fill_fire) begin
      valid_q[fill_set][fill_way] <= 1'b1;
      plru_q[fill_set]            <= fill_plru_next;
    end else if (lkp_fire && lkp_hit) begin
      plru_q[lkp_hit_set] <= lkp_plru_next;
    end else if (state_q == StInvWalk) begin
      // Invalidations leave the PLRU state alone (contract).
      valid_q[walk_set_q] <= valid_q[walk_set_q] & ~inv_drop;
    end
  end

  // Entry fields need no reset: they are qualified by valid_q.
  always_ff @(posedge clk_i) begin
    if (fill_fire) begin
      did_q[fill_set][fill_way]   <= fill_req_did_i;
      pasid_q[fill_set][fill_way] <= fill_req_pasid_i;
      kind_q[fill_set][fill_way]  <= fill_req_kind_i;
      level_q[fill_set][fill_way] <= fill_req_level_i;
      vpn_q[fill_set][fill_way]   <= fill_req_vpn_i;
      pfn_q[fill_set][fill_way]   <= fill_req_pfn_i;
      perm_q[fill_set][fill_way]  <= fill_req_perm_i;
    end
  end

  ////////////////
  // Responses  //
  ////////////////

  logic [SetIdxWidth-1:0] lkp_resp_set_q, fill_resp_set_q;
  logic [WayIdxWidth-1:0] lkp_resp_way_q, fill_resp_way_q;
  logic                   lkp_resp_hit_q, fill_resp_replaced_q, fill_resp_evict_valid_q;
  logic [DidWidth-1:0]    lkp_resp_did_q, evict_did_q;
  logic [PasidWidth-1:0]  lkp_resp_pasid_q, evict_pasid_q;
  logic [KindWidth-1:0]   lkp_resp_kind_q, evict_kind_q;
  logic [LevelWidth-1:0]  lkp_resp_level_q, evict_level_q;
  logic [VpnWidth-1:0]    lkp_resp_vpn_q, evict_vpn_q;
  logic [PfnWidth-1:0]    lkp_resp_pfn_q, evict_pfn_q;
  logic [PermWidth-1:0]   lkp_resp_perm_q, evict_perm_q;
  logic [CountWidth-1:0]  inv_resp_count_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      lkp_resp_valid_q        <= 1'b0;
      fill_resp_valid_q       <= 1'b0;
      inv_resp_valid_q        <= 1'b0;
      lkp_resp_hit_q          <= 1'b0;
      lkp_resp_set_q          <= '0;
      lkp_resp_way_q          <= '0;
      lkp_resp_did_q          <= '0;
      lkp_resp_pasid_q        <= '0;
      lkp_resp_kind_q         <= KindSecondStage;
      lkp_resp_level_q        <= Level4K;
      lkp_resp_vpn_q          <= '0;
      lkp_resp_pfn_q          <= '0;
      lkp_resp_perm_q         <= '0;
      fill_resp_set_q         <= '0;
      fill_resp_way_q         <= '0;
      fill_resp_replaced_q    <= 1'b0;
      fill_resp_evict_valid_q <= 1'b0;
      evict_did_q             <= '0;
      evict_pasid_q           <= '0;
      evict_kind_q            <= KindSecondStage;
      evict_level_q           <= Level4K;
      evict_vpn_q             <= '0;
      evict_pfn_q             <= '0;
      evict_perm_q            <= '0;
      inv_resp_count_q        <= '0;
    end else begin
      if (lkp_fire) begin
        lkp_resp_valid_q <= 1'b1;
        lkp_resp_hit_q   <= lkp_hit;
        lkp_resp_set_q   <= lkp_hit_set;
        lkp_resp_way_q   <= lkp_hit_way;
        lkp_resp_did_q   <= did_q[lkp_hit_set][lkp_hit_way];
        lkp_resp_pasid_q <= pasid_q[lkp_hit_set][lkp_hit_way];
        lkp_resp_kind_q  <= kind_q[lkp_hit_set][lkp_hit_way];
        lkp_resp_level_q <= level_q[lkp_hit_set][lkp_hit_way];
        lkp_resp_vpn_q   <= vpn_q[lkp_hit_set][lkp_hit_way];
        lkp_resp_pfn_q   <= pfn_q[lkp_hit_set][lkp_hit_way];
        lkp_resp_perm_q  <= perm_q[lkp_hit_set][lkp_hit_way];
      end else if (lkp_resp_ready_i) begin
        lkp_resp_valid_q <= 1'b0;
      end

      if (fill_fire) begin
        fill_resp_valid_q       <= 1'b1;
        fill_resp_set_q         <= fill_set;
        fill_resp_way_q         <= fill_way;
        fill_resp_replaced_q    <= fill_replaced;
        fill_resp_evict_valid_q <= fill_evict;
        evict_did_q             <= did_q[fill_set][fill_way];
        evict_pasid_q           <= pasid_q[fill_set][fill_way];
        evict_kind_q            <= kind_q[fill_set][fill_way];
        evict_level_q           <= level_q[fill_set][fill_way];
        evict_vpn_q             <= vpn_q[fill_set][fill_way];
        evict_pfn_q             <= pfn_q[fill_set][fill_way];
        evict_perm_q            <= perm_q[fill_set][fill_way];
      end else if (fill_resp_ready_i) begin
        fill_resp_valid_q <= 1'b0;
      end

      if (state_q == StInvWalk && walk_last) begin
        inv_resp_valid_q <= 1'b1;
        inv_resp_count_q <= count_q + popcount(inv_drop);
      end else if (inv_resp_ready_i) begin
        inv_resp_valid_q <= 1'b0;
      end
    end
  end

  assign lkp_resp_valid_o        = lkp_resp_valid_q;
  assign lkp_resp_hit_o          = lkp_resp_hit_q;
  assign lkp_resp_set_o          = lkp_resp_set_q;
  assign lkp_resp_way_o          = lkp_resp_way_q;
  assign lkp_resp_did_o          = lkp_resp_did_q;
  assign lkp_resp_pasid_o        = lkp_resp_pasid_q;
  assign lkp_resp_kind_o         = lkp_resp_kind_q;
  assign lkp_resp_level_o        = lkp_resp_level_q;
  assign lkp_resp_vpn_o          = lkp_resp_vpn_q;
  assign lkp_resp_pfn_o          = lkp_resp_pfn_q;
  assign lkp_resp_perm_o         = lkp_resp_perm_q;
  assign fill_resp_valid_o       = fill_resp_valid_q;
  assign fill_resp_set_o         = fill_resp_set_q;
  assign fill_resp_way_o         = fill_resp_way_q;
  assign fill_resp_replaced_o    = fill_resp_replaced_q;
  assign fill_resp_evict_valid_o = fill_resp_evict_valid_q;
  assign fill_resp_evict_did_o   = evict_did_q;
  assign fill_resp_evict_pasid_o = evict_pasid_q;
  assign fill_resp_evict_kind_o  = evict_kind_q;
  assign fill_resp_evict_level_o = evict_level_q;
  assign fill_resp_evict_vpn_o   = evict_vpn_q;
  assign fill_resp_evict_pfn_o   = evict_pfn_q;
  assign fill_resp_evict_perm_o  = evict_perm_q;
  assign inv_resp_valid_o        = inv_resp_valid_q;
  assign inv_resp_count_o        = inv_resp_count_q;

  ////////////////
  // Debug port //
  ////////////////

  assign dbg_valid_o = valid_q[dbg_set_i][dbg_way_i];
  assign dbg_did_o   = did_q[dbg_set_i][dbg_way_i];
  assign dbg_pasid_o = pasid_q[dbg_set_i][dbg_way_i];
  assign dbg_kind_o  = kind_q[dbg_set_i][dbg_way_i];
  assign dbg_level_o = level_q[dbg_set_i][dbg_way_i];
  assign dbg_vpn_o   = vpn_q[dbg_set_i][dbg_way_i];
  assign dbg_pfn_o   = pfn_q[dbg_set_i][dbg_way_i];
  assign dbg_perm_o  = perm_q[dbg_set_i][dbg_way_i];
  assign dbg_plru_o  = plru_q[dbg_set_i];

  ////////////////
  // Assertions //
  ////////////////

`ifndef SYNTHESIS
  // Known outputs (meaningful in four-state simulators; Verilator is two-state).
  ReadyKnown_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      !$isunknown({lkp_req_ready_o, fill_req_ready_o, inv_req_ready_o, busy_o}));
  RespValidKnown_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      !$isunknown({lkp_resp_valid_o, fill_resp_valid_o, inv_resp_valid_o}));
  LkpRespKnown_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      lkp_resp_valid_o |-> !$isunknown({lkp_resp_hit_o, lkp_resp_set_o, lkp_resp_way_o}));
  FillRespKnown_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      fill_resp_valid_o |-> !$isunknown({fill_resp_set_o, fill_resp_way_o, fill_resp_replaced_o,
                                         fill_resp_evict_valid_o}));
  InvRespKnown_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      inv_resp_valid_o |-> !$isunknown(inv_resp_count_o));

  // Handshake rules: a request or response that is not taken stays valid and stable.
  LkpReqStable_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      lkp_req_valid_i && !lkp_req_ready_o |=> lkp_req_valid_i &&
      $stable({lkp_req_did_i, lkp_req_pasid_i, lkp_req_kind_i, lkp_req_vpn_i}));
  FillReqStable_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      fill_req_valid_i && !fill_req_ready_o |=> fill_req_valid_i &&
      $stable({fill_req_did_i, fill_req_pasid_i, fill_req_kind_i, fill_req_level_i, fill_req_vpn_i,
               fill_req_pfn_i, fill_req_perm_i}));
  InvReqStable_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      inv_req_valid_i && !inv_req_ready_o |=> inv_req_valid_i &&
      $stable({inv_req_scope_i, inv_req_did_i, inv_req_pasid_i, inv_req_vpn_i, inv_req_am_i}));
  LkpRespStable_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      lkp_resp_valid_o && !lkp_resp_ready_i |=> lkp_resp_valid_o &&
      $stable({lkp_resp_hit_o, lkp_resp_pfn_o, lkp_resp_perm_o}));
  FillRespStable_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      fill_resp_valid_o && !fill_resp_ready_i |=> fill_resp_valid_o &&
      $stable({fill_resp_set_o, fill_resp_way_o, fill_resp_evict_valid_o}));
  InvRespStable_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      inv_resp_valid_o && !inv_resp_ready_i |=> inv_resp_valid_o && $stable(inv_resp_count_o));

  // Busy holds off lookups and fills; a fill carries a legal page size and an aligned page.
  BusyHoldsOff_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      busy_o |-> !lkp_req_ready_o && !fill_req_ready_o);
  FillLevelLegal_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      fill_req_valid_i |-> level_e'(fill_req_level_i) inside {Level4K, Level2M, Level1G});
  FillVpnAligned_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      fill_req_valid_i |-> (fill_req_vpn_i & page_offset_mask(fill_req_level_i)) == '0);
  OneRespAtATime_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      $onehot0({lkp_resp_valid_o, fill_resp_valid_o, inv_resp_valid_o}));
`endif

endmodule
