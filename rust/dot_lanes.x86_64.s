	.section	.text._ZN12simladder_rs9dot_lanes17hf5bb483e6d01221eE,"ax",@progbits
	.p2align	4, 0x90
	.type	_ZN12simladder_rs9dot_lanes17hf5bb483e6d01221eE,@function
_ZN12simladder_rs9dot_lanes17hf5bb483e6d01221eE:
.Lfunc_begin82:
	.cfi_startproc
	xorps	%xmm0, %xmm0
	movups	%xmm0, 48(%rdi)
	movups	%xmm0, 32(%rdi)
	movups	%xmm0, 16(%rdi)
	movups	%xmm0, (%rdi)
	shrq	$4, %rdx
	shrq	$4, %r8
	cmpq	%r8, %rdx
	cmovbeq	%rdx, %r8
	testq	%r8, %r8
	je	.LBB82_4
	movl	$48, %eax
	xorps	%xmm1, %xmm1
	xorps	%xmm2, %xmm2
	xorps	%xmm3, %xmm3
	.p2align	4, 0x90
.LBB82_2:
	movups	-48(%rsi,%rax), %xmm4
	movups	-32(%rsi,%rax), %xmm5
	movups	-16(%rsi,%rax), %xmm6
	movups	(%rsi,%rax), %xmm8
	movups	-48(%rcx,%rax), %xmm7
	mulps	%xmm4, %xmm7
	addps	%xmm7, %xmm0
	movups	-32(%rcx,%rax), %xmm4
	mulps	%xmm5, %xmm4
	addps	%xmm4, %xmm1
	movups	-16(%rcx,%rax), %xmm4
	mulps	%xmm6, %xmm4
	addps	%xmm4, %xmm2
	movups	(%rcx,%rax), %xmm4
	mulps	%xmm8, %xmm4
	addps	%xmm4, %xmm3
	addq	$64, %rax
	addq	$-1, %r8
	jne	.LBB82_2
	movups	%xmm0, (%rdi)
	movups	%xmm1, 16(%rdi)
	movups	%xmm2, 32(%rdi)
	movups	%xmm3, 48(%rdi)
.LBB82_4:
	retq
.Lfunc_end82:
	.size	_ZN12simladder_rs9dot_lanes17hf5bb483e6d01221eE, .Lfunc_end82-_ZN12simladder_rs9dot_lanes17hf5bb483e6d01221eE
	.section	.text._ZN12simladder_rs10dot2_lanes17h792eaf13b4addac9E,"ax",@progbits
	.p2align	4, 0x90
	.type	_ZN12simladder_rs10dot2_lanes17h792eaf13b4addac9E,@function
_ZN12simladder_rs10dot2_lanes17h792eaf13b4addac9E:
.Lfunc_begin83:
	.cfi_startproc
	shrq	$4, %rdx
	shrq	$4, %r8
	cmpq	%r8, %rdx
	cmovbeq	%rdx, %r8
	movq	8(%rsp), %rax
	shrq	$4, %rax
	cmpq	%rax, %r8
	cmovbeq	%r8, %rax
	xorps	%xmm8, %xmm8
	testq	%rax, %rax
	je	.LBB83_1
	movl	$48, %edx
	xorps	%xmm9, %xmm9
	xorps	%xmm2, %xmm2
	xorps	%xmm3, %xmm3
	xorps	%xmm4, %xmm4
	xorps	%xmm5, %xmm5
	xorps	%xmm6, %xmm6
	xorps	%xmm7, %xmm7
	.p2align	4, 0x90
.LBB83_4:
	movups	-48(%r9,%rdx), %xmm0
	movups	-48(%rsi,%rdx), %xmm1
	mulps	%xmm0, %xmm1
	addps	%xmm1, %xmm8
	movups	-48(%rcx,%rdx), %xmm1
	mulps	%xmm0, %xmm1
	movups	-32(%r9,%rdx), %xmm0
	addps	%xmm1, %xmm4
	movups	-32(%rsi,%rdx), %xmm1
	mulps	%xmm0, %xmm1
	addps	%xmm1, %xmm9
	movups	-32(%rcx,%rdx), %xmm1
	mulps	%xmm0, %xmm1
	movups	-16(%r9,%rdx), %xmm0
	addps	%xmm1, %xmm5
	movups	-16(%rsi,%rdx), %xmm1
	mulps	%xmm0, %xmm1
	addps	%xmm1, %xmm2
	movups	-16(%rcx,%rdx), %xmm1
	mulps	%xmm0, %xmm1
	movups	(%r9,%rdx), %xmm0
	addps	%xmm1, %xmm6
	movups	(%rsi,%rdx), %xmm1
	mulps	%xmm0, %xmm1
	addps	%xmm1, %xmm3
	movups	(%rcx,%rdx), %xmm1
	mulps	%xmm0, %xmm1
	addps	%xmm1, %xmm7
	addq	$64, %rdx
	addq	$-1, %rax
	jne	.LBB83_4
	jmp	.LBB83_2
.LBB83_1:
	xorps	%xmm9, %xmm9
	xorps	%xmm2, %xmm2
	xorps	%xmm3, %xmm3
	xorps	%xmm4, %xmm4
	xorps	%xmm5, %xmm5
	xorps	%xmm6, %xmm6
	xorps	%xmm7, %xmm7
.LBB83_2:
	movups	%xmm8, (%rdi)
	movups	%xmm9, 16(%rdi)
	movups	%xmm2, 32(%rdi)
	movups	%xmm3, 48(%rdi)
	movups	%xmm4, 64(%rdi)
	movups	%xmm5, 80(%rdi)
	movups	%xmm6, 96(%rdi)
	movups	%xmm7, 112(%rdi)
	retq
.Lfunc_end83:
	.size	_ZN12simladder_rs10dot2_lanes17h792eaf13b4addac9E, .Lfunc_end83-_ZN12simladder_rs10dot2_lanes17h792eaf13b4addac9E
