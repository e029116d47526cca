// examples/own_iotlb: the tree-PLRU of my_iotlb.sv (a copy of rtl/iotlb_plru.sv, renamed).
//
// Tree pseudo-LRU state of one IOTLB set (tlm/iotlb_if.h contract, identical to the C++ model).
//
// Models: Ways-1 bits in heap order (node n has children 2n+1 / 2n+2); a bit of 0 means "the
// victim is in the left subtree". Touching a way sets every node on its path to point away from it;
// the victim is found by following the bits from the root.
// Does not model: storage (the caller keeps one state vector per set); purely combinational.
module my_plru #(
  parameter int unsigned Ways = 4,
  localparam int unsigned WayIdxWidth = (Ways > 1) ? $clog2(Ways) : 1,
  localparam int unsigned StateWidth  = (Ways > 1) ? Ways - 1 : 1
) (
  input  logic [StateWidth-1:0]  state_i,      // current tree bits
  input  logic [WayIdxWidth-1:0] touch_way_i,  // way being used
  output logic [StateWidth-1:0]  state_o,      // tree bits after touching touch_way_i
  output logic [WayIdxWidth-1:0] victim_o      // way the current tree bits point to
);

  if (Ways > 1) begin : gen_tree
    localparam int unsigned Depth = WayIdxWidth;

    // Touch: the node at depth d on the path to way w is (2^d - 1) + (w >> (Depth - d)); the branch
    // taken there is bit (Depth - 1 - d) of w (0: left). Point the node at the other side.
    always_comb begin
      state_o = state_i;
      for (int unsigned d = 0; d < Depth; d++) begin
        state_o[((32'd1 << d) - 32'd1) + (32'(touch_way_i) >> (Depth - d))] =
            ~touch_way_i[Depth-1-d];
      end
    end

    // Victim: follow the bits from the root; the bits read are the victim's index, MSB first.
    always_comb begin
      logic [31:0] node;
      node = 32'd0;
      victim_o = '0;
      for (int unsigned d = 0; d < Depth; d++) begin
        victim_o[Depth-1-d] = state_i[node];
        node = 32'd2 * node + 32'd1 + 32'(state_i[node]);
      end
    end
  end else begin : gen_single
    // One way: it is always the victim and there is no tree.
    assign state_o  = state_i;
    assign victim_o = '0;
    logic unused_touch;
    assign unused_touch = ^touch_way_i;
  end

endmodule
