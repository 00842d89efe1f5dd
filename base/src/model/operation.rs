//! The operations of `aws-sdk-socialmessaging`: the base layer's names for them, which the
//! router, the limits, the fault rules and the handlers share.

macro_rules! operations {
    ($($name:ident),* $(,)?) => {
        /// Every operation of `aws-sdk-socialmessaging`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation { $($name),* }

        impl Operation {
            pub const ALL: &'static [Operation] = &[$(Operation::$name),*];

            pub fn name(self) -> &'static str {
                match self { $(Operation::$name => stringify!($name)),* }
            }

            pub fn from_name(name: &str) -> Option<Operation> {
                match name { $(stringify!($name) => Some(Operation::$name),)* _ => None }
            }
        }
    };
}

operations! {
    AssociateWhatsAppBusinessAccount,
    CreateWhatsAppDataset,
    CreateWhatsAppFlow,
    CreateWhatsAppMessageTemplate,
    CreateWhatsAppMessageTemplateFromLibrary,
    CreateWhatsAppMessageTemplateMedia,
    DeleteWhatsAppFlow,
    DeleteWhatsAppMessageMedia,
    DeleteWhatsAppMessageTemplate,
    DeprecateWhatsAppFlow,
    DisassociateWhatsAppBusinessAccount,
    GetLinkedWhatsAppBusinessAccount,
    GetLinkedWhatsAppBusinessAccountPhoneNumber,
    GetWhatsAppBusinessPublicKey,
    GetWhatsAppCallPermission,
    GetWhatsAppFlow,
    GetWhatsAppFlowPreview,
    GetWhatsAppMessageMedia,
    GetWhatsAppMessageTemplate,
    ListLinkedWhatsAppBusinessAccounts,
    ListTagsForResource,
    ListWhatsAppFlowAssets,
    ListWhatsAppFlows,
    ListWhatsAppMessageTemplates,
    ListWhatsAppTemplateLibrary,
    PostWhatsAppMessageMedia,
    PublishWhatsAppFlow,
    PutWhatsAppBusinessAccountEventDestinations,
    PutWhatsAppBusinessPublicKey,
    SendWhatsAppCallEvent,
    SendWhatsAppConversionEvent,
    SendWhatsAppMessage,
    TagResource,
    UntagResource,
    UpdateLinkedWhatsAppBusinessAccountPhoneNumber,
    UpdateWhatsAppFlow,
    UpdateWhatsAppFlowAssets,
    UpdateWhatsAppMessageTemplate,
}
