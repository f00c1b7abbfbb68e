	.section	.text._ZN12simladder_rs9dot_lanes17h2a3c959a7b34178bE,"ax",@progbits
	.p2align	4, 0x90
	.type	_ZN12simladder_rs9dot_lanes17h2a3c959a7b34178bE,@function
_ZN12simladder_rs9dot_lanes17h2a3c959a7b34178bE:
.Lfunc_begin81:
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
	je	.LBB81_4
	movl	$48, %eax
	xorps	%xmm1, %xmm1
	xorps	%xmm2, %xmm2
	xorps	%xmm3, %xmm3
	.p2align	4, 0x90
.LBB81_2:
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
	jne	.LBB81_2
	movups	%xmm0, (%rdi)
	movups	%xmm1, 16(%rdi)
	movups	%xmm2, 32(%rdi)
	movups	%xmm3, 48(%rdi)
.LBB81_4:
	retq
.Lfunc_end81:
	.size	_ZN12simladder_rs9dot_lanes17h2a3c959a7b34178bE, .Lfunc_end81-_ZN12simladder_rs9dot_lanes17h2a3c959a7b34178bE
